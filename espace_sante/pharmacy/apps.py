from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "espace_sante.pharmacy"
    label = "pharmacy"
    verbose_name = "Pharmacie"

    def ready(self):
        from . import events  # noqa: F401  (registers this app's audit events)
