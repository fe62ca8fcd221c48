from django.apps import AppConfig


class CryptoConfig(AppConfig):
    name = "espace_sante.crypto"
    label = "crypto"
    verbose_name = "Chiffrement"
