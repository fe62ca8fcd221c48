from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "espace_sante.pharmacy"
    label = "pharmacy"
    verbose_name = "Pharmacie"
