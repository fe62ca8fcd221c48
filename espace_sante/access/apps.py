from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "espace_sante.access"
    label = "access"
    verbose_name = "Accès et traçabilité"
