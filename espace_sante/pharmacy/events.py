"""The audit events the pharmacy flow writes (see ``access.events``)."""

from espace_sante.access import events
from espace_sante.access.events import BALP_UPDATE, CHANGES, Event

PRESCRIPTION_STATUS = Event(
    "prescription_status",
    "mis à jour le suivi d'une ordonnance envoyée à sa pharmacie",
    CHANGES,
    BALP_UPDATE,
)
events.register(PRESCRIPTION_STATUS)
