from django.apps import AppConfig


class AgendaConfig(AppConfig):
    name = "espace_sante.agenda"
    label = "agenda"
    verbose_name = "Agenda et prévention"
