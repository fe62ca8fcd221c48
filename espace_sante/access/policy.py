"""The one decision point for health data.

Every read or write of a patient's health data asks ``can`` (or the ``check``
that raises) and lists go through the queryset filters here. Deny by default:
an actor kind or action this module does not know is refused.

Today only the titulaire reaches their own record; the rules of
shared/domain/access.md for representatives, caregivers, professionals and
emergencies slot in here, and only here.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied


class Action(StrEnum):
    READ = "read"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    MASK = "mask"


class ActorKind(StrEnum):
    PATIENT = "patient"  # a citizen acting in a space (their own, or one they act for)
    PROFESSIONAL = "professional"
    SYSTEM = "system"  # background tasks of the service itself


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    user_id: int | None = None
    person_id: object = None  # Person.id of a citizen actor
    professional_id: object = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.person_id or self.professional_id or self.user_id}"


SYSTEM = Actor(ActorKind.SYSTEM)


class NotAllowed(PermissionDenied):
    """Refused by the policy. Views answer 404 to people who may not know the object."""


def actor_for_user(user) -> Actor | None:
    """The actor behind a signed-in account, or None when it may touch no health data."""
    if not user or not user.is_authenticated:
        return None
    person = getattr(user, "person", None)
    if person is not None:
        return Actor(ActorKind.PATIENT, user_id=user.pk, person_id=person.id)
    professional = getattr(user, "professional", None)
    if professional is not None:
        return Actor(ActorKind.PROFESSIONAL, user_id=user.pk, professional_id=professional.id)
    return None


def is_titulaire(actor: Actor, patient_id) -> bool:
    return (
        actor is not None
        and actor.kind == ActorKind.PATIENT
        and str(actor.person_id) == str(patient_id)
    )


def can(actor: Actor | None, action: Action, patient_id, document=None) -> bool:
    """May ``actor`` do ``action`` on the record of ``patient_id`` (optionally one document)?"""
    if actor is None:
        return False
    if actor.kind == ActorKind.SYSTEM:
        return True
    if is_titulaire(actor, patient_id):
        if document is not None and document.invisible_patient:
            return False
        if action in (Action.UPDATE, Action.DELETE) and document is not None:
            # The patient changes only the documents they deposited; on a
            # professional's document they may only mask or unmask.
            return document.is_patient_owned
        return action in set(Action)
    return False


def check(actor: Actor | None, action: Action, patient_id, document=None) -> None:
    if not can(actor, action, patient_id, document):
        raise NotAllowed


def visible_documents(actor: Actor | None, patient_id, queryset):
    """Filter ``queryset`` (documents of one patient) to what ``actor`` may see, in SQL."""
    queryset = queryset.filter(patient_id=patient_id)
    if actor is None:
        return queryset.none()
    if actor.kind == ActorKind.SYSTEM:
        return queryset
    if is_titulaire(actor, patient_id):
        return queryset.filter(invisible_patient=False)
    return queryset.none()
