from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "espace_sante.identity"
    label = "identity"
    verbose_name = "Identités"

    def ready(self):
        from . import signals  # noqa: F401
