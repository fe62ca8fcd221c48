"""The access emails themselves: who receives them, what they say, and sending each once.

No health content, by construction: nothing here reads a document, its type
or an emergency justification. Run by the ``send_access_notification`` task;
``notifications`` decides which emails are owed.
"""

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from .dates import french_datetime
from .models import AccessNotification

if TYPE_CHECKING:
    from espace_sante.identity.models import Professional

SUBJECT_PREFIX = "espace-santé — "


def medecin_traitant_of(
    patient_id: uuid.UUID | str, exclude: object = None
) -> "Professional | None":
    from espace_sante.identity.models import Person

    person = Person.objects.select_related("medecin_traitant__user").filter(pk=patient_id).first()
    doctor = person.medecin_traitant if person else None
    if doctor is None or (exclude is not None and str(doctor.id) == str(exclude)):
        return None
    return doctor


def _patient_address(patient_id: uuid.UUID | str) -> str:
    from espace_sante.identity.models import Person

    person = Person.objects.select_related("user").filter(pk=patient_id).first()
    if person is None:
        return ""
    return (person.user.email if person.user else "") or person.email


def _doctor_address(doctor: "Professional") -> str:
    return doctor.email or (doctor.user.email if doctor.user else "")


def _history_url() -> str:
    site: str = settings.SITE_URL
    return site.rstrip("/") + reverse("access:history")


def message_for(notification: AccessNotification) -> tuple[str, str, str]:
    """Recipient address, subject and body. No health content, by construction:
    nothing here reads the document, its type or the justification."""
    when = french_datetime(notification.accessed_at)
    footer = "\n\nCe message ne contient aucune information de santé.\n\nespace-santé\n"
    if notification.recipient == AccessNotification.Recipient.MEDECIN_TRAITANT:
        doctor = medecin_traitant_of(notification.patient_id)
        if doctor is None:
            return "", "", ""
        return (
            _doctor_address(doctor),
            "Accès d'urgence au dossier d'un de vos patients",
            f"Bonjour {doctor.display_name},\n\n"
            f"Un accès d'urgence a été ouvert le {when} au dossier d'un patient dont vous "
            "êtes le médecin traitant déclaré.\n\n"
            "Pour préserver le secret médical, ce courriel ne dit pas de qui il s'agit : "
            "connectez-vous à votre espace professionnel pour le savoir." + footer,
        )
    address = _patient_address(notification.patient_id)
    history = _history_url()
    if notification.kind == AccessNotification.Kind.EMERGENCY:
        return (
            address,
            "Accès d'urgence à votre dossier",
            "Bonjour,\n\n"
            f"Un professionnel de santé a consulté votre dossier en urgence le {when}.\n\n"
            f"Consultez l'historique des accès dans votre espace : {history}\n\n"
            "Si vous ne reconnaissez pas cet accès, signalez-le depuis cet historique. "
            "Votre médecin traitant en est aussi informé. Ce courriel vous est toujours "
            "envoyé, quelles que soient vos préférences de notification." + footer,
        )
    return (
        address,
        "Un professionnel a consulté votre dossier",
        "Bonjour,\n\n"
        f"Un professionnel de santé a consulté votre dossier le {when}.\n\n"
        f"Consultez l'historique des accès dans votre espace : {history}\n\n"
        "Si vous ne reconnaissez pas cet accès, signalez-le depuis cet historique. "
        "Pour ne plus recevoir ce courriel, allez dans Paramètres, puis Notifications." + footer,
    )


def send_once(
    row: "QuerySet[Any]",
    claim_field: str,
    compose: Callable[[], tuple[list[str], str, str]],
) -> bool:
    """Send the email about one row once. Safe to run twice or on two workers.

    ``row`` is a queryset of that one row. It is claimed (``claim_field`` set
    where it was empty) and the email sent in one transaction: of two workers,
    the second waits for the first's row lock, then finds the row claimed. A
    worker killed, or a mail server refusing, before the commit leaves the row
    unclaimed, so the task run again sends it: an email may (rarely) go twice,
    never zero times. ``compose()`` gives the addresses, subject and body; one
    email per address (co-parents do not see each other's). No address: nobody
    to tell, the row is kept as handled.
    """
    with transaction.atomic():
        claimed = row.filter(**{f"{claim_field}__isnull": True}).update(
            **{claim_field: timezone.now()}
        )
        if not claimed:
            return False
        addresses, subject, body = compose()
        if not addresses:
            return False
        for address in addresses:
            EmailMessage(SUBJECT_PREFIX + subject, body, to=[address]).send()
    return True


def deliver(notification_id: uuid.UUID | str) -> bool:
    """Send one access notification once (``send_once``)."""
    return send_once(
        AccessNotification.objects.filter(pk=notification_id),
        "sent_at",
        lambda: _to_one(*message_for(AccessNotification.objects.get(pk=notification_id))),
    )


def _to_one(address: str, subject: str, body: str) -> tuple[list[str], str, str]:
    return [address] if address else [], subject, body
