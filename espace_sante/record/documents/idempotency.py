"""Idempotency keys of deposits: a request sent again lands once (issue 12, item 9).

A client that lost its connection cannot know whether its upload was stored;
it sends the same request again with the same key (``Idempotency-Key``,
draft-ietf-httpapi-idempotency-key-header; the upload form's one-time token).
Within ``RECORD_IDEMPOTENCY_HOURS`` the first answer's document comes back and
nothing is added; the same key with another request is refused. The key row
is written in the deposit's own transaction, so a key never outlives a failed
deposit and two parallel requests with the same key leave one document.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from espace_sante.access import events as audit_events
from espace_sante.access.guard import guard
from espace_sante.access.policy import Action, Actor
from espace_sante.identity.models import Person

from .deposit import Deposit, deposit_batch
from .models import DepositKey
from .uploads import UploadRefused

IDEMPOTENCY_KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class Idempotency:
    """Who sent the request, their key for it, and the request's fingerprint."""

    sender: str  # "fhir:<client id>", "user:<user id>"
    key: str
    fingerprint: str


def fingerprint(*parts: bytes) -> str:
    """SHA-256 of the parts of a request (each length-prefixed: no two splits collide)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _since() -> datetime:
    hours: int = settings.RECORD_IDEMPOTENCY_HOURS
    return timezone.now() - timedelta(hours=hours)


def deposit_once(
    actor: Actor | None, patient: Person, idempotency: Idempotency | None, do: Callable[[], Deposit]
) -> Deposit:
    """``do()`` once per key: a retry gets the first deposit's document back.

    Refused (``UploadRefused``, code ``idempotency_mismatch``) when the sender
    used the key for another request (another body, or another patient).
    Without a key, ``do()`` as always. With one, ``do()`` runs in a transaction
    with the key's row: a refusal decided inside it (a replaced document that is
    not the actor's) is rolled back with it, as in a ``deposit_batch``; the
    right to deposit at all is decided before, and its refusal kept.
    """
    if idempotency is None:
        return do()
    earlier = _earlier(actor, patient, idempotency)
    if earlier is not None:
        return earlier
    # Asked outside the transaction below, so that a refusal stays in the trail (a
    # rollback would take it away); allowed, nothing is written until ``do()`` traces.
    guard(actor, Action.CREATE, patient.id, object_type="document", trace=False)
    try:
        with deposit_batch():  # the document and its key, or neither (blob included)
            result = do()
            DepositKey.objects.filter(
                patient=patient,
                sender=idempotency.sender,
                key=idempotency.key,
                created_at__lt=_since(),
            ).delete()  # expired, not purged yet
            with transaction.atomic():
                DepositKey.objects.create(
                    patient=patient,
                    sender=idempotency.sender,
                    key=idempotency.key,
                    fingerprint=idempotency.fingerprint,
                    document=result.document,
                    created=result.created,
                )
    except IntegrityError:
        # The same key in a parallel request, committed first: its document is the answer.
        earlier = _earlier(actor, patient, idempotency)
        if earlier is None:
            raise
        return earlier
    return result


def _earlier(actor: Actor | None, patient: Person, idempotency: Idempotency) -> Deposit | None:
    """The deposit made with this key, if any; refused if the key served another request."""
    found = (
        DepositKey.objects.select_related("document")
        .filter(
            patient=patient,
            sender=idempotency.sender,
            key=idempotency.key,
            created_at__gte=_since(),
        )
        .first()
    )
    if found is None:
        if _used_for_another_patient(patient, idempotency):
            raise _mismatch()
        return None
    if found.fingerprint != idempotency.fingerprint:
        raise _mismatch()
    # The same right as depositing again; traced as the deposit received again.
    creating = guard(actor, Action.CREATE, patient.id, object_type="document", trace=False)
    with transaction.atomic():
        creating.trace(
            found.document,
            event=audit_events.CREATE,
            reason="déjà reçu (même clé d'idempotence) : rien n'a été ajouté",
        )
    return Deposit(found.document, created=found.created)


def _used_for_another_patient(patient: Person, idempotency: Idempotency) -> bool:
    # Across patients on purpose (index depositkey_sender_key, an access.owned exception).
    return (
        DepositKey.objects.filter(
            sender=idempotency.sender, key=idempotency.key, created_at__gte=_since()
        )
        .exclude(patient=patient)
        .exists()
    )


def _mismatch() -> UploadRefused:
    return UploadRefused(
        "Cette clé d'idempotence a déjà servi pour une autre requête : utilisez une nouvelle "
        "clé pour chaque nouveau dépôt, et la même clé seulement pour renvoyer la même requête.",
        code="idempotency_mismatch",
    )


def purge_deposit_keys() -> int:
    """Delete the keys older than ``RECORD_IDEMPOTENCY_HOURS``; the number deleted."""
    # Across patients on purpose (index depositkey_created_at, tests/test_guard.py UNSCOPED).
    deleted, _ = DepositKey.objects.filter(created_at__lt=_since()).delete()
    return deleted
