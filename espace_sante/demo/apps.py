from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "espace_sante.demo"
    label = "demo"
    verbose_name = "Données de démonstration"
