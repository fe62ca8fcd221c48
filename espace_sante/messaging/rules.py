"""The rules every messaging service shares: the guard, rate limits, clean text, refusals."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from espace_sante.access.guard import Access, guard
from espace_sante.access.policy import ActorKind
from espace_sante.record.text import hidden_characters

from .models import Message

logger = logging.getLogger(__name__)

SUBJECT = "subject"
BODY = "body"
CLOSE_REASON = "close_reason"
FILENAME = "filename"
SUBJECT_MAX = 200

PATIENT_CANNOT_START = (
    "Vous ne pouvez pas commencer une conversation avec un professionnel de santé : ce sont "
    "les professionnels qui vous écrivent, et vous pouvez leur répondre. Pour envoyer une "
    "ordonnance, utilisez « Envoyer une ordonnance à une pharmacie »."
)


class MessagingRefused(ValidationError):
    """A message we do not send; the French sentence says why and what to do."""


# --- Policy and audit ------------------------------------------------------------


def check_access(
    actor, action, patient_id, conversation=None, *, obj=None, to_pharmacy=False
) -> Access:
    """The guard on the patient's messaging; a refusal is traced (on its own) and raised.

    The allowed access is traced by the caller once its object exists.
    """
    return guard(
        actor,
        action,
        patient_id,
        obj,
        conversation=conversation,
        to_pharmacy=to_pharmacy,
        object_type="" if (obj or conversation) else "conversation",
        trace=False,
    )


def is_patient_side(actor) -> bool:
    # A patient's connected app writes as its citizen would (access.grants).
    return actor is not None and actor.kind in (ActorKind.PATIENT, ActorKind.APP)


# --- Rate limits -----------------------------------------------------------------


def check_rate(actor, *, locked: bool = False) -> None:
    """At most N messages per sender per hour (settings), then a clear refusal.

    ``locked``: lock the sender's row first (inside the transaction that writes
    the message), so that parallel messages are counted one after the other
    and the limit lets none through beyond it.
    """
    if locked:
        _lock_sender(actor)
    since = timezone.now() - timedelta(hours=1)
    if is_patient_side(actor):
        sent = Message.objects.filter(author_person_id=actor.person_id, created_at__gte=since)
        limit = settings.MESSAGING_PATIENT_MAX_PER_HOUR
    else:
        sent = Message.objects.filter(
            author_professional_id=actor.professional_id, created_at__gte=since
        )
        limit = settings.MESSAGING_PROFESSIONAL_MAX_PER_HOUR
    count = sent.count()
    if count >= limit:
        oldest = sent.order_by("created_at").values_list("created_at", flat=True)[count - limit]
        wait = max(1, int((oldest + timedelta(hours=1) - timezone.now()).total_seconds() // 60) + 1)
        raise MessagingRefused(
            f"Vous avez envoyé {limit} message{'s' if limit > 1 else ''} au cours de la "
            "dernière heure, le maximum "
            f"autorisé. Réessayez dans {wait} minute{'s' if wait > 1 else ''}.",
            code="rate_limited",
        )


def _lock_sender(actor) -> None:
    from espace_sante.identity.models import Person, Professional

    if is_patient_side(actor):
        Person.objects.select_for_update().filter(pk=actor.person_id).values_list("pk").first()
    else:
        sender = Professional.objects.select_for_update().filter(pk=actor.professional_id)
        sender.values_list("pk").first()


# --- Text ------------------------------------------------------------------------


def clean_subject(subject: str) -> str:
    hidden = hidden_characters(subject or "", "L'objet", multiline=True)
    if hidden:
        raise MessagingRefused(hidden, code="subject")
    clean = " ".join((subject or "").split())
    if not clean:
        raise MessagingRefused("Donnez un objet à votre message.", code="subject")
    if len(clean) > SUBJECT_MAX:
        raise MessagingRefused(
            f"L'objet est trop long ({SUBJECT_MAX} caractères au maximum).", code="subject"
        )
    return clean


def clean_body(body: str) -> str:
    # Plain text only: kept as typed, shown escaped (links made clickable on display).
    clean = (body or "").replace("\r\n", "\n").strip()
    hidden = hidden_characters(clean, "Votre message", multiline=True)
    if hidden:
        raise MessagingRefused(hidden, code="body")
    if not clean:
        raise MessagingRefused("Écrivez votre message avant de l'envoyer.", code="body")
    limit = settings.MESSAGING_BODY_MAX_CHARS
    if len(clean) > limit:
        raise MessagingRefused(
            f"Votre message est trop long ({len(clean)} caractères, {limit} au maximum).",
            code="body",
        )
    return clean
