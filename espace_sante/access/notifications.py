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
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction

from espace_sante.identity.models import Person

from .emails import medecin_traitant_of
from .models import AccessNotification, AuditEntry, NotificationPreference, PendingNotification
from .tasks import send_access_notification

if TYPE_CHECKING:
    from .policy import Actor

logger = logging.getLogger(__name__)

Kind = NotificationPreference.Kind
# The kinds something sends today, the only ones the preferences page offers (a
# switch that changes nothing would mislead). A new message and a professional's
# access are emailed at once; a new document, an appointment and a prevention
# reminder go in the daily digest (``notify``, ``digest.py``). The catalogue adds
# connected services when it sends them.
SENT_KINDS = (
    Kind.NEW_DOCUMENT,
    Kind.NEW_MESSAGE,
    Kind.APPOINTMENT,
    Kind.PREVENTION,
    Kind.PROFESSIONAL_ACCESS,
)
# The kinds the daily digest tells; "prevention" is the agenda's word for the reminder.
DIGEST_KINDS = frozenset({Kind.NEW_DOCUMENT, Kind.NEW_MESSAGE, Kind.APPOINTMENT, Kind.PREVENTION})
_ALIASES = {"prevention": Kind.PREVENTION.value}
EMERGENCY_MODES = frozenset({"emergency_btg", "emergency_samu"})
# One email per patient, professional, kind and recipient in this window.
THROTTLE = timedelta(hours=1)


class NotAllowedToChange(Exception):
    """Only the titulaire changes their own notification preferences."""


# --- Preferences -------------------------------------------------------------


def preferences(patient_id: uuid.UUID | str) -> dict[str, bool]:
    """Every kind with its state; a kind never set is on."""
    stored = dict(
        NotificationPreference.objects.filter(  # type: ignore[misc]  # id text, see policy.Id
            patient_id=patient_id
        ).values_list("kind", "enabled")
    )
    return {kind: stored.get(kind, True) for kind in Kind.values}


def is_enabled(patient_id: uuid.UUID | str, kind: str) -> bool:
    found = (
        NotificationPreference.objects.filter(  # type: ignore[misc]  # id text, see policy.Id
            patient_id=patient_id, kind=kind
        )
        .values_list("enabled", flat=True)
        .first()
    )
    return True if found is None else found


@transaction.atomic
def set_preferences(actor: "Actor | None", patient: Person, wanted: dict[str, bool]) -> list[str]:
    """Turn kinds of notification on or off for the titulaire's own space; traced.

    Returns the kinds that changed. Kinds not in ``wanted`` keep their state.
    """
    from . import audit, policy

    if not policy.is_titulaire(actor, patient.id):
        raise NotAllowedToChange
    unknown = set(wanted) - set(Kind.values)
    if unknown:
        raise ValueError(f"Unknown notification kinds: {sorted(unknown)}")
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


# --- Reminders for the daily digest -------------------------------------------


def notify(patient_id: uuid.UUID | str, kind: str) -> PendingNotification | None:
    """Tell the patient, in the next daily digest, that something of ``kind`` happened.

    Records a pending row (patient, kind, time: no health content) when the
    patient has not turned that kind off; None otherwise. Called in the caller's
    transaction: a rolled-back deposit leaves no notification. The digest job
    (``digest.send_digests``, every quarter of an hour) sends it outside quiet hours.
    """
    kind = _ALIASES.get(str(kind), str(kind))
    if kind not in DIGEST_KINDS:
        raise ValueError(f"Not a digest notification kind: {kind!r}")
    if not is_enabled(patient_id, kind):
        return None
    return PendingNotification.objects.create(patient_id=patient_id, kind=kind)


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
    created: list[AccessNotification] = []
    for recipient in recipients:
        if recipient == AccessNotification.Recipient.MEDECIN_TRAITANT and not medecin_traitant_of(
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


def _access_email_owed(entry: AuditEntry, since: datetime) -> tuple[bool, bool]:
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


def _notified_since(entry: AuditEntry, kind: str, recipient: str, since: datetime) -> bool:
    return AccessNotification.objects.filter(
        patient_id=entry.patient_id,
        professional_id=entry.actor_professional_id,
        kind=kind,
        recipient=recipient,
        created_at__gte=since,
    ).exists()


def _enqueue(notification_id: uuid.UUID) -> None:
    try:
        send_access_notification.enqueue(str(notification_id))
    except Exception:  # the access is committed; a lost queue must not fail the page
        logger.exception("Access notification not enqueued: %s", notification_id)
