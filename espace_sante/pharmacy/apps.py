from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "espace_sante.pharmacy"
    label = "pharmacy"
    verbose_name = "Pharmacie"

    def ready(self):
        from espace_sante.messaging import extensions
        from espace_sante.messaging.models import Conversation

        from . import events, services  # noqa: F401  (events registers this app's audit events)

        # Prescriptions are conversations: messaging shows them with the pharmacy's pages.
        extensions.register(
            extensions.ConversationKindPages(
                kind=Conversation.Kind.PRESCRIPTION,
                badge="Ordonnance",
                panel=services.conversation_panel,
                organization_kind="pharmacy",
                inbox_label="Ordonnances reçues",
                inbox_url="pharmacy_pro:inbox",
                start_label="Envoyer une ordonnance à une pharmacie",
                start_url="pharmacy:send",
            )
        )
