from django.apps import AppConfig


class RecordConfig(AppConfig):
    name = "espace_sante.record"
    label = "record"
    verbose_name = "Dossier médical"
