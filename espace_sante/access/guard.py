"""The one guard every read or write of health data goes through.

``guard(actor, action, patient_id, obj)`` asks the policy, writes the audit
entry from the policy's ``Decision`` (its mode: consent, care team,
emergency…), traces a refusal and raises ``NotAllowed``. Services call it;
doors (web pages, the portal, the FHIR API) call services, never the policy
or the audit trail themselves.

When the object only exists after the action (a new document, a new
message), the service asks first with ``trace=False`` and writes the entry
once the object is made, in the same transaction: ``access.trace(created)``.

Call the guard before opening the action's transaction when you can: a
refusal is then committed on its own, and rolling back the action cannot
roll back the proof that it was refused.
"""

from dataclasses import dataclass
from typing import TypedDict, Unpack, cast

from . import audit, events, policy
from .models import AuditEntry
from .policy import (
    Action,
    Actor,
    ConversationLike,
    Decision,
    DocumentLike,
    Id,
    MessageAction,
    NotAllowed,
)

_DATA_ACTIONS = frozenset(str(action) for action in Action)


class Question(TypedDict, total=False):
    """What the policy needs beyond (actor, action, patient, object): see ``guard``."""

    section: str | None
    conversation: ConversationLike | None
    to_pharmacy: bool


@dataclass(frozen=True)
class Access:
    """An allowed access: who, what, whose record, and why the policy allowed it."""

    actor: Actor | None
    event: events.Event
    patient_id: Id
    decision: Decision
    object_type: str = ""

    @property
    def mode(self) -> str:
        return str(self.decision.mode or "")

    def trace(
        self,
        obj: object = None,
        *,
        event: str | events.Event | None = None,
        object_type: str | None = None,
        reason: str = "",
    ) -> AuditEntry:
        """Append this access to the patient's trail, in the caller's transaction."""
        return audit.record(
            self.actor,
            events.get(event) if event is not None else self.event,
            self.patient_id,
            obj=obj,
            object_type=self.object_type if object_type is None else object_type,
            mode=self.mode,
            reason=reason,
        )


def _object_type(obj: object, section: str | None, object_type: str) -> str:
    if object_type:
        return object_type
    if section:
        return section
    return type(obj).__name__.lower() if obj is not None else ""


def decide(
    actor: Actor | None,
    action: str,
    patient_id: Id,
    obj: object = None,
    **question: Unpack[Question],
) -> Decision:
    """The policy's decision, untraced: for guard() and for what a page may offer."""
    section = question.get("section")
    if isinstance(action, MessageAction):
        return policy.decide_message(
            actor,
            action,
            patient_id,
            question.get("conversation"),
            to_pharmacy=question.get("to_pharmacy", False),
        )
    if str(action) not in _DATA_ACTIONS:
        # Managing the space's access: blocks, roles, settings, consents.
        events.get(action)
        return policy.decide_settings(actor, patient_id)
    if section == policy.AGENDA:
        return policy.decide_agenda(
            actor, Action(action), patient_id, cast(policy.AppointmentLike | None, obj)
        )
    # A section names a part of the profile; otherwise the object is a document.
    document = cast(DocumentLike | None, obj) if section is None else None
    return policy.decide(actor, Action(action), patient_id, document, section)


def refuse(
    actor: Actor | None,
    action: str | events.Event,
    patient_id: Id,
    obj: object = None,
    *,
    object_type: str = "",
    reason: str = "",
) -> NotAllowed:
    """Trace a refusal the service decided itself (before the policy was even asked)."""
    audit.record(
        actor,
        events.get(action),
        patient_id,
        obj=obj,
        object_type=object_type,
        allowed=False,
        reason=reason,
    )
    return NotAllowed()


def guard(
    actor: Actor | None,
    action: str,
    patient_id: Id,
    obj: object = None,
    *,
    object_type: str = "",
    reason: str = "",
    trace: bool = True,
    **question: Unpack[Question],
) -> Access:
    """Decide, trace and return the access; trace the refusal and raise ``NotAllowed``.

    ``action`` is a ``policy.Action`` (documents, profile sections when
    ``section`` is given), a ``policy.MessageAction`` (a conversation, given
    as ``conversation``; ``obj`` is then the message or attachment traced), or
    another registered event that manages the space's access (``"block"``,
    ``"settings"``…), which only the patient's side may do.
    With ``trace=False`` nothing is written when allowed: the caller traces
    the access with ``Access.trace`` once the object exists.
    """
    event = events.get(action)
    # What the entry names: the object, else the conversation it belongs to.
    traced = obj if obj is not None else question.get("conversation")
    kind = _object_type(traced, question.get("section"), object_type)
    decision = decide(actor, action, patient_id, obj, **question)
    if not decision:
        raise refuse(actor, event, patient_id, traced, object_type=kind, reason=reason)
    access = Access(actor, event, patient_id, decision, kind)
    if trace:
        access.trace(traced, reason=reason)
    return access
