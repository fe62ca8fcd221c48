from django.apps import AppConfig


class OperatorConfig(AppConfig):
    name = "espace_sante.operator"
    label = "operator"
    verbose_name = "Console opérateur"
