"""The audit events secure messaging writes (see ``access.events``)."""

from espace_sante.access import events
from espace_sante.access.events import (
    BALP_CREATE,
    BALP_DELETE,
    BALP_READ,
    BALP_SEARCH,
    BALP_UPDATE,
    CHANGES,
    CONSULTATIONS,
    Event,
)
from espace_sante.access.policy import MessageAction

events.register(
    Event(
        MessageAction.START, "commencé une conversation dans votre messagerie", CHANGES, BALP_CREATE
    ),
    Event(MessageAction.SEND, "envoyé un message dans votre messagerie", CHANGES, BALP_CREATE),
    Event(MessageAction.READ, "lu {thing}", CONSULTATIONS, BALP_READ, reads=True),
    Event(
        MessageAction.LIST,
        "consulté la liste de vos conversations",
        CONSULTATIONS,
        BALP_SEARCH,
        reads=True,
    ),
    Event(
        MessageAction.DOWNLOAD,
        "téléchargé une pièce jointe de votre messagerie",
        CONSULTATIONS,
        BALP_READ,
        reads=True,
    ),
    Event(MessageAction.CLOSE, "fermé une conversation de votre messagerie", CHANGES, BALP_UPDATE),
    Event(
        MessageAction.DELETE, "supprimé une conversation de votre messagerie", CHANGES, BALP_DELETE
    ),
)
