from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "espace_sante.messaging"
    label = "messaging"
    verbose_name = "Messagerie sécurisée"
