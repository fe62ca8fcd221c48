import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from espace_sante.identity.models import Person

from .lifecycle import Event, S, transition
from .models import (
    Beneficiary,
)
from .notices import tell

logger = logging.getLogger(__name__)

# --- Automatic creation --------------------------------------------------------


def ensure_space_keys(person: Person) -> None:
    from espace_sante.crypto.services import ensure_keys

    ensure_keys(person.pk)


def create_due_spaces(
    *, batch_size: int = 500, now=None, after_each: Callable[[Person], None] | None = None
) -> int:
    """Create the spaces whose objection delay has passed; returns how many.

    Batches of ``batch_size`` people, each batch one transaction with the
    people's rows locked (SKIP LOCKED: a second worker takes the next
    people). The state is the checkpoint: after a crash the batch rolled
    back entirely, and the next run picks the same people again; a person
    already created is no longer "invited", so never created twice.
    ``after_each`` is called after each creation (progress display).
    """
    created = 0
    # People whose creation failed in this run: the next run retries them; this
    # one must not pick them again (it would loop, telling them each time).
    failed: list = []
    while True:
        at = now or timezone.now()
        with transaction.atomic():
            people = list(
                Person.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    space_state=S.INVITED,
                    beneficiaries__auto_create_after__lte=at,
                )
                .exclude(pk__in=failed)
                .distinct()
                .order_by("pk")[:batch_size]
                if connection.vendor != "postgresql"
                else Person.objects.select_for_update(skip_locked=True)
                .filter(
                    space_state=S.INVITED,
                    pk__in=Beneficiary.objects.filter(auto_create_after__lte=at).values(
                        "person_id"
                    ),
                )
                .exclude(pk__in=failed)
                .order_by("pk")[:batch_size]
            )
            if not people:
                break
            for person in people:
                try:
                    with transaction.atomic():
                        ensure_space_keys(person)
                        transition(person, Event.AUTO_CREATED, note="délai d'opposition écoulé")
                except Exception:
                    # lifecycle.md: when creation fails technically the person is told
                    # at once; they stay "invited" and the next run tries again.
                    logger.exception("automatic creation failed")
                    failed.append(person.pk)
                    tell(person, "creation_failed")
                    continue
                tell(person, "created")
                created += 1
                if after_each:
                    after_each(person)
    return created
