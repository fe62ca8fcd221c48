"""Telling people about accesses: preferences, and the emails after a professional's access.

access.md: the patient may turn each kind of notification off; an email at
each access by a professional (unless turned off); at each emergency access
the patient **and** the médecin traitant are told, whatever the preferences.
Notifications never contain health content: no document title, no type, no
justification — only that an access happened, and when.

Emails go through Django's email API from a django-tasks task (the default
database backend, run by ``espace-sante worker``), enqueued after commit:
an access rolled back sends nothing.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .dates import french_datetime
from .models import AccessNotification, AuditEntry, NotificationPreference

logger = logging.getLogger(__name__)

Kind = NotificationPreference.Kind
EMERGENCY_MODES = frozenset({"emergency_btg", "emergency_samu"})
# One email per patient, professional, kind and recipient in this window.
THROTTLE = timedelta(hours=1)
SUBJECT_PREFIX = "espace-santé — "


class NotAllowedToChange(Exception):
    """Only the titulaire changes their own notification preferences."""


# --- Preferences -------------------------------------------------------------


def preferences(patient_id) -> dict[str, bool]:
    """Every kind with its state; a kind never set is on."""
    stored = dict(
        NotificationPreference.objects.filter(patient_id=patient_id).values_list("kind", "enabled")
    )
    return {kind: stored.get(kind, True) for kind in Kind.values}


def is_enabled(patient_id, kind: str) -> bool:
    found = (
        NotificationPreference.objects.filter(patient_id=patient_id, kind=kind)
        .values_list("enabled", flat=True)
        .first()
    )
    return True if found is None else found


@transaction.atomic
def set_preferences(actor, patient, wanted: dict[str, bool]) -> list[str]:
    """Turn kinds of notification on or off for the titulaire's own space; traced.

    Returns the kinds that changed. Kinds not in ``wanted`` keep their state.
    """
    from . import audit, policy

    if not policy.is_titulaire(actor, patient.id):
        raise NotAllowedToChange
    unknown = set(wanted) - set(Kind.values)
    if unknown:
        raise ValueError(f"Notifications inconnues : {sorted(unknown)}")
    current = preferences(patient.id)
    changed = [kind for kind, on in wanted.items() if current[kind] != bool(on)]
    for kind in changed:
        NotificationPreference.objects.update_or_create(
            patient=patient, kind=kind, defaults={"enabled": bool(wanted[kind])}
        )
    if changed:
        audit.record(
            actor,
            "notification_settings",
            patient.id,
            object_type="notification",
            reason=", ".join(f"{kind}={'oui' if wanted[kind] else 'non'}" for kind in changed),
        )
    return changed


# --- After an access ---------------------------------------------------------


def after_professional_access(entry: AuditEntry) -> list[AccessNotification]:
    """Called by ``audit.record`` (same transaction) after a professional's allowed read.

    Creates the notifications owed, at most one per patient, professional,
    kind and recipient per hour, and enqueues their sending after commit.
    The caller holds the lock on the patient's audit chain, so two accesses
    at once cannot both decide that no email was sent this hour.
    """
    emergency = entry.mode in EMERGENCY_MODES
    since = entry.at - THROTTLE
    if emergency:
        kind = AccessNotification.Kind.EMERGENCY
        recipients = [
            AccessNotification.Recipient.PATIENT,
            AccessNotification.Recipient.MEDECIN_TRAITANT,
        ]
    else:
        kind = AccessNotification.Kind.ACCESS
        recipients = [AccessNotification.Recipient.PATIENT]
        # The common case (a read): the preference and the throttle in one query.
        enabled, already = _access_email_owed(entry, since)
        if not enabled or already:
            return []
    created = []
    for recipient in recipients:
        if recipient == AccessNotification.Recipient.MEDECIN_TRAITANT and not _medecin_traitant(
            entry.patient_id, exclude=entry.actor_professional_id
        ):
            continue
        if emergency and _notified_since(entry, kind, recipient, since):
            continue
        notification = AccessNotification.objects.create(
            patient_id=entry.patient_id,
            professional_id=entry.actor_professional_id,
            kind=kind,
            recipient=recipient,
            entry_id=entry.id,
            accessed_at=entry.at,
            created_at=entry.at,
        )
        transaction.on_commit(partial(_enqueue, notification.id))
        created.append(notification)
    return created


def _access_email_owed(entry: AuditEntry, since) -> tuple[bool, bool]:
    """(the patient wants access emails, one was already made this hour), in one query.

    Plain SQL: the ORM spent more CPU building this pair of subqueries than the
    database takes to answer them, on every read by a professional.
    """
    from django.db import connection

    preference = NotificationPreference._meta.db_table
    notification = AccessNotification._meta.db_table
    uuid_field = AccessNotification._meta.get_field("patient_id")
    patient = uuid_field.get_db_prep_value(entry.patient_id, connection)
    professional = uuid_field.get_db_prep_value(entry.actor_professional_id, connection)
    since_value = AccessNotification._meta.get_field("created_at").get_db_prep_value(
        since, connection
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT
                (SELECT enabled FROM {preference} WHERE patient_id = %s AND kind = %s),
                EXISTS (SELECT 1 FROM {notification} WHERE patient_id = %s
                        AND professional_id = %s AND kind = %s AND recipient = %s
                        AND created_at >= %s)
            """,  # noqa: S608 - our own table names; every value is a parameter
            [
                patient,
                Kind.PROFESSIONAL_ACCESS.value,
                patient,
                professional,
                AccessNotification.Kind.ACCESS.value,
                AccessNotification.Recipient.PATIENT.value,
                since_value,
            ],
        )
        enabled, already = cursor.fetchone()
    return enabled is None or bool(enabled), bool(already)


def _notified_since(entry: AuditEntry, kind, recipient, since) -> bool:
    return AccessNotification.objects.filter(
        patient_id=entry.patient_id,
        professional_id=entry.actor_professional_id,
        kind=kind,
        recipient=recipient,
        created_at__gte=since,
    ).exists()


def _enqueue(notification_id) -> None:
    from .tasks import send_access_notification

    try:
        send_access_notification.enqueue(str(notification_id))
    except Exception:  # the access is committed; a lost queue must not fail the page
        logger.exception("Notification d'accès non mise en file : %s", notification_id)


def _medecin_traitant(patient_id, exclude=None):
    from espace_sante.identity.models import Person

    person = Person.objects.select_related("medecin_traitant__user").filter(pk=patient_id).first()
    doctor = person.medecin_traitant if person else None
    if doctor is None or (exclude is not None and str(doctor.id) == str(exclude)):
        return None
    return doctor


def _patient_address(patient_id) -> str:
    from espace_sante.identity.models import Person

    person = Person.objects.select_related("user").filter(pk=patient_id).first()
    if person is None:
        return ""
    return (person.user.email if person.user else "") or person.email


def _doctor_address(doctor) -> str:
    return doctor.email or (doctor.user.email if doctor.user else "")


def _history_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("access:history")


def message_for(notification: AccessNotification) -> tuple[str, str, str]:
    """Recipient address, subject and body. No health content, by construction:
    nothing here reads the document, its type or the justification."""
    when = french_datetime(notification.accessed_at)
    footer = "\n\nCe message ne contient aucune information de santé.\n\nespace-santé\n"
    if notification.recipient == AccessNotification.Recipient.MEDECIN_TRAITANT:
        doctor = _medecin_traitant(notification.patient_id)
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


def deliver(notification_id) -> bool:
    """Send one notification once. Safe to run twice or on two workers.

    The row is claimed (``sent_at`` set where it was empty) before sending:
    of two workers, only the one whose update changed the row sends. If the
    mail server refuses, the claim is released and the task fails, to be run
    again.
    """
    claimed = AccessNotification.objects.filter(pk=notification_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return False
    notification = AccessNotification.objects.get(pk=notification_id)
    address, subject, body = message_for(notification)
    if not address:
        return False  # nobody to tell (no email on file): kept as handled
    try:
        EmailMessage(SUBJECT_PREFIX + subject, body, to=[address]).send()
    except Exception:
        AccessNotification.objects.filter(pk=notification_id).update(sent_at=None)
        raise
    return True
