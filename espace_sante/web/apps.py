from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "espace_sante.web"
    label = "web"
    verbose_name = "Interface web"
