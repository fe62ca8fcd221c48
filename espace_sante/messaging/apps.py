from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "espace_sante.messaging"
    label = "messaging"
    verbose_name = "Messagerie sécurisée"

    def ready(self):
        from . import events  # noqa: F401  (registers this app's audit events)
