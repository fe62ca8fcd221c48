"""Appending to the audit trail, in the transaction of the action it traces.

Each entry is the next link of its patient's hash chain (``chain.py``):
``audit.record`` locks the patient's chain head, numbers the entry, hashes it
with the previous hash and moves the head, all inside the caller's
transaction. A rollback of the action removes the entry with it; a commit
keeps both.
"""

from collections.abc import Callable
from typing import Any, cast

from django.db import models, transaction
from django.utils import timezone

from . import audit_keys, chain, events, policy
from .middleware import current_ip, current_request_id
from .models import AuditEntry, AuditHead

ANONYMOUS = "anonymous"

# Reasons to access the audit trail knows by name (policy.Mode values), and
# the short names the emergency services use for them.
KNOWN_MODES = frozenset(
    {
        "titulaire",
        "representative",
        "caregiver",
        "medecin_traitant",
        "administrateur",
        "care_team",
        "consent",
        "emergency_btg",
        "emergency_samu",
        "author",
        "deposit",
        "app",
        "system",
    }
)
MODE_ALIASES = {"btg": "emergency_btg", "samu": "emergency_samu"}


def _known_modes() -> frozenset[str]:
    from . import policy

    enum = getattr(policy, "Mode", None)
    return KNOWN_MODES | frozenset(str(mode) for mode in enum) if enum else KNOWN_MODES


def mode_of(actor: policy.Actor | None, reason: str, explicit: str | None = None) -> str:
    """Why the access happened: explicit, else the actor's mode, else read from the reason.

    Services pass the policy's decision mode as the reason (``"consent"``),
    or ``"<mode> : <justification>"`` for an emergency.
    """
    if explicit:
        return str(explicit)
    from_actor = getattr(actor, "mode", "") if actor is not None else ""
    if from_actor:
        return str(from_actor)
    head = (reason or "").split(" : ", 1)[0].strip()
    if head in MODE_ALIASES:
        return MODE_ALIASES[head]
    return head if head in _known_modes() else ""


# Told of every allowed access by a professional that notifies (in the same
# transaction, chain head locked): the access emails (``notifications``),
# registered by ``AccessConfig.ready`` so the trail does not import them.
_after_professional_access: list[Callable[[AuditEntry], object]] = []


def on_professional_access(callback: Callable[[AuditEntry], object]) -> None:
    if callback not in _after_professional_access:
        _after_professional_access.append(callback)


def _lock_head(patient_id: policy.Id) -> AuditHead:
    """The patient's chain head, locked until the end of the transaction.

    PostgreSQL: ``SELECT … FOR UPDATE`` on the head row serialises writers on
    one patient (and only on that patient); a missing head is created with
    ``INSERT … ON CONFLICT DO NOTHING`` first, so two first writers do not
    both create it. SQLite: every write transaction starts ``IMMEDIATE``
    (settings), which already serialises writers on the whole database.
    """
    head = AuditHead.objects.select_for_update().filter(patient_id=patient_id).first()
    if head is None:
        AuditHead.objects.bulk_create(
            [AuditHead(patient_id=patient_id, sequence=0, entry_hash=chain.GENESIS)],
            ignore_conflicts=True,
        )
        head = AuditHead.objects.select_for_update().get(patient_id=patient_id)
    return head


def _clip(value: object, field: str) -> str:
    text = str(value or "")
    column = cast(models.Field[Any, Any], AuditEntry._meta.get_field(field))  # a text column
    limit = column.max_length
    return text[:limit] if limit else text


def record(
    actor: policy.Actor | None,
    action: str | events.Event,
    patient_id: policy.Id,
    *,
    obj: object = None,
    object_type: str = "",
    allowed: bool = True,
    reason: str = "",
    mode: str | None = None,
    acting_for: str | None = None,
) -> AuditEntry:
    """Append one entry to ``patient_id``'s trail, in the caller's transaction.

    ``actor`` is a ``policy.Actor`` (or None for an anonymous attempt); its
    ``organization_id``, ``acting_for`` and ``mode`` are recorded when it has
    them. ``reason`` is free text (the policy's mode, an emergency
    justification, what changed). Called outside a transaction, the entry is
    committed on its own (refusals are traced that way).
    ``action`` is a registered event (``access.events``): an unknown code is
    refused with ``UnknownEvent`` before anything is written.
    """
    event = events.get(action)
    if not event.reads:
        # Every access verb (consent, block, emergency, settings…) is audited:
        # what the policy remembered for this request may be out of date.
        policy.forget()
    # No savepoint inside the caller's transaction (two round trips saved): if
    # the entry cannot be written, the whole action fails with it, as it must.
    keys = audit_keys.keyring()
    with transaction.atomic(savepoint=False):
        head = _lock_head(patient_id)
        entry = AuditEntry(
            patient_id=patient_id,
            sequence=head.sequence + 1,
            at=timezone.now(),
            actor_kind=_clip(actor.kind if actor else ANONYMOUS, "actor_kind"),
            actor_user_id=getattr(actor, "user_id", None),
            actor_person_id=getattr(actor, "person_id", None),
            actor_professional_id=getattr(actor, "professional_id", None),
            actor_organization_id=getattr(actor, "organization_id", None),
            acting_for=_clip(
                acting_for if acting_for is not None else getattr(actor, "acting_for", ""),
                "acting_for",
            ),
            action=event.code,
            object_type=_clip(
                object_type or (type(obj).__name__.lower() if obj is not None else ""),
                "object_type",
            ),
            object_id=getattr(obj, "pk", None) if obj is not None else None,
            outcome=AuditEntry.Outcome.ALLOWED if allowed else AuditEntry.Outcome.DENIED,
            mode=_clip(mode_of(actor, reason, mode), "mode"),
            reason=str(reason or ""),
            request_id=_clip(current_request_id(), "request_id"),
            ip=current_ip(),
            previous_hash=head.entry_hash,
            chain_format=chain.FORMAT,
            key_id=keys.primary,
        )
        # Hash what the database will give back: the same types and spellings.
        for field in AuditEntry._meta.concrete_fields:
            setattr(entry, field.attname, field.to_python(getattr(entry, field.attname)))
        entry.entry_hash = chain.digest(chain.fields_of(entry), keys.key(keys.primary))
        entry.save(force_insert=True)
        head.sequence, head.entry_hash = entry.sequence, entry.entry_hash
        head.save(update_fields=["sequence", "entry_hash"])
        if event.notifies and allowed and entry.actor_kind == policy.ActorKind.PROFESSIONAL:
            for callback in _after_professional_access:
                callback(entry)
    return entry
