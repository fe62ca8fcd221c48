"""Retention: warn, then delete conversations past the retention period, and orphan files."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from espace_sante.access import policy
from espace_sante.access.guard import guard
from espace_sante.access.policy import MessageAction
from espace_sante.crypto import blobs
from espace_sante.identity.models import Person

from .models import Attachment, Conversation
from .notices import recipients

logger = logging.getLogger(__name__)

# --- Retention --------------------------------------------------------------------------


def sweep_orphan_attachments(older_than_seconds: int = blobs.GRACE_SECONDS) -> int:
    """Delete attachment blobs no row points at (a send interrupted between blob and row)."""
    return blobs.sweep_orphans("attachment", _attached, older_than_seconds)


def _attached(names: set[str]) -> set[str]:
    """Those of these blob names an attachment row points at (any patient's)."""
    rows = Attachment.objects.filter(blob_name__in=names)
    return set(rows.values_list("blob_name", flat=True))


def _retention_limits(now: datetime) -> tuple[datetime, datetime]:
    """(inactive since before this: deleted, inactive since before this: warned)."""
    delete_before = now - timedelta(days=settings.MESSAGING_RETENTION_DAYS)
    warn_before = delete_before + timedelta(days=settings.MESSAGING_RETENTION_WARNING_DAYS)
    return delete_before, warn_before


def warn_before_retention(now: datetime | None = None) -> int:
    """Tell patients, once, that inactive conversations will soon be deleted (services.md).

    One email per patient (no health content: neither subjects nor senders),
    MESSAGING_RETENTION_WARNING_DAYS before the deletion. Conversations are
    claimed (``retention_warned_at``) before the email, so two workers do not
    both send it. Returns the number of patients told.
    """
    from django.core.mail import EmailMessage
    from django.template.defaultfilters import date as format_date

    from espace_sante.access.emails import SUBJECT_PREFIX

    now = now or timezone.now()
    _, warn_before = _retention_limits(now)
    due = Conversation.objects.filter(
        last_message_at__lt=warn_before,
        retention_warned_at__isnull=True,
        patient_deleted_at__isnull=True,
    )
    told = 0
    for patient_id in set(due.values_list("patient_id", flat=True)[:1000]):
        claimed = due.filter(patient_id=patient_id).update(retention_warned_at=now)
        if not claimed:
            continue  # another worker took it
        person = Person.objects.select_related("user").get(pk=patient_id)
        addresses, whose, link = recipients(person)
        when = format_date(
            timezone.localtime(now + timedelta(days=settings.MESSAGING_RETENTION_WARNING_DAYS)),
            "j F Y",
        )
        for address in addresses:
            EmailMessage(
                SUBJECT_PREFIX + "Des conversations de votre messagerie vont être supprimées",
                "Bonjour,\n\n"
                f"{claimed} conversation{'s' if claimed > 1 else ''} de votre messagerie"
                f"{whose}, sans activité depuis longtemps, "
                f"{'seront supprimées' if claimed > 1 else 'sera supprimée'} à partir du {when}."
                "\n\nSi vous voulez garder des pièces jointes, ajoutez-les à vos documents "
                f"avant cette date : {link}\n\n"
                "Ce message ne contient aucune information de santé.\n\nespace-santé\n",
                to=[address],
            ).send()
        told += 1
    return told


def apply_retention(now: datetime | None = None) -> int:
    """Delete conversations without activity for MESSAGING_RETENTION_DAYS, and their files.

    A conversation still in the patient's space is deleted only once she was
    warned at least MESSAGING_RETENTION_WARNING_DAYS before (``warn_before_retention``);
    one she deleted herself goes at once. Each deletion is traced as the
    system's in the patient's trail; blobs go after commit. Safe to run twice or
    on two workers (rows locked, a missing blob is a no-op).
    """
    now = now or timezone.now()
    limit, _ = _retention_limits(now)
    warned_before = now - timedelta(days=settings.MESSAGING_RETENTION_WARNING_DAYS)
    deletable = Q(last_message_at__lt=limit) & (
        Q(patient_deleted_at__isnull=False) | Q(retention_warned_at__lte=warned_before)
    )
    removed = 0
    expired = list(Conversation.objects.filter(deletable).values_list("id", flat=True)[:1000])
    for conversation_id in expired:
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update()
                .filter(deletable, pk=conversation_id)
                .first()
            )
            if conversation is None:
                continue
            names = list(
                Attachment.objects.filter(
                    patient_id=conversation.patient_id, message__conversation=conversation
                ).values_list("blob_name", flat=True)
            )
            guard(
                policy.SYSTEM,
                MessageAction.DELETE,
                conversation.patient_id,
                conversation=conversation,
                reason="durée de conservation écoulée",
            )
            conversation.delete()
            blobs.delete_after_commit(names)
            removed += 1
    return removed
