from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "espace_sante.portal"
    label = "portal"
    verbose_name = "Portail professionnel"
