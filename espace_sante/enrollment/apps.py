from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "espace_sante.enrollment"
    label = "enrollment"
    verbose_name = "Création des espaces (opt-out)"
