"""Appending to the audit trail. Callers are inside the transaction of the action."""

from .models import AuditEntry
from .policy import Actor


def record(
    actor: Actor | None,
    action: str,
    patient_id,
    *,
    obj=None,
    object_type: str = "",
    allowed: bool = True,
    reason: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        patient_id=patient_id,
        actor_kind=str(actor.kind) if actor else "anonymous",
        actor_user_id=actor.user_id if actor else None,
        actor_person_id=actor.person_id if actor else None,
        actor_professional_id=actor.professional_id if actor else None,
        action=str(action),
        object_type=object_type or (type(obj).__name__.lower() if obj is not None else ""),
        object_id=getattr(obj, "pk", None) if obj is not None else None,
        outcome=AuditEntry.Outcome.ALLOWED if allowed else AuditEntry.Outcome.DENIED,
        reason=reason,
    )
