import logging

from espace_sante.access.policy import forget as forget_policy_memo
from espace_sante.identity.models import Person, SpaceState, User

from .models import (
    SpaceTransition,
)

logger = logging.getLogger(__name__)

Event = SpaceTransition.Event
S = SpaceState

# The state machine: for each event, the states it may start from and where it leads.
# REOPENED and RESUMED lead back to where the person was (see _target).
MACHINE: dict[str, dict[str, str | None]] = {
    Event.ACTIVATED: {S.INVITED: S.ACTIVATED, S.CREATED: S.ACTIVATED},
    # Objection after automatic creation closes the space (lifecycle.md).
    Event.OBJECTED: {S.INVITED: S.OBJECTED, S.CREATED: S.CLOSED},
    Event.AUTO_CREATED: {S.INVITED: S.CREATED},
    Event.REQUESTED: {S.OBJECTED: S.CREATED},
    Event.CLOSED: {S.CREATED: S.CLOSED, S.ACTIVATED: S.CLOSED, S.SUSPENDED: S.CLOSED},
    Event.REOPENED: {S.CLOSED: None},
    Event.SUSPENDED: {S.CREATED: S.SUSPENDED, S.ACTIVATED: S.SUSPENDED},
    Event.RESUMED: {S.SUSPENDED: None},
}


class TransitionRefused(Exception):
    """This event cannot happen in the person's current state."""

    def __init__(self, event: str, state: str):
        self.event, self.state = event, state
        super().__init__(f"{event} impossible depuis l'état {state}")


# --- The state machine ---------------------------------------------------------


def lock_person(person_id) -> Person:
    # The row lock serialises every change of one person's state: two workers,
    # or a worker and the person on the activation page, cannot both act.
    return Person.objects.select_for_update().get(pk=person_id)


def _target(person: Person, event: str) -> str:
    allowed = MACHINE.get(event, {})
    if person.space_state not in allowed:
        raise TransitionRefused(event, person.space_state)
    target = allowed[person.space_state]
    if target is not None:
        return target
    if event == Event.REOPENED:
        return S.ACTIVATED if person.user_id else S.CREATED
    # RESUMED: back to the state before the suspension.
    before = (
        SpaceTransition.objects.filter(patient=person, event=Event.SUSPENDED)
        .order_by("-at", "-id")
        .values_list("from_state", flat=True)
        .first()
    )
    return before or S.ACTIVATED


def can(person: Person, event: str) -> bool:
    return person.space_state in MACHINE.get(event, {})


def transition(person: Person, event: str, *, actor: User | None = None, note: str = "") -> str:
    """Move a locked person's space to the state ``event`` leads to, and record it.

    Call inside ``transaction.atomic`` with ``person`` from ``lock_person``; raises
    ``TransitionRefused`` when the machine does not allow it.
    """
    target = _target(person, event)
    SpaceTransition.objects.create(
        patient=person,
        event=event,
        from_state=person.space_state,
        to_state=target,
        actor=actor,
        note=note[:200],
    )
    Person.objects.filter(pk=person.pk).update(space_state=target)
    person.space_state = target
    # An UPDATE sends no signal: the policy must not answer from the old state later
    # in the same request.
    forget_policy_memo()
    return target


def history(person: Person) -> list[SpaceTransition]:
    return list(SpaceTransition.objects.filter(patient=person).order_by("at", "id"))
