import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from espace_sante.identity import validators as identity_validators
from espace_sante.identity.models import Person, User

from .codes import code_digest
from .lifecycle import Event, S, lock_person, transition
from .models import (
    Closure,
)
from .notices import tell
from .tasks import purge_closed_spaces

# --- Closing, deletion, reopening -----------------------------------------------


def archive_space(person: Person, now) -> Closure:
    closure, _ = Closure.objects.update_or_create(
        patient=person,
        defaults={
            "closed_at": now,
            "purge_after": now + timedelta(days=365 * settings.ENROLLMENT_ARCHIVE_YEARS + 3),
            "deletion_requested_at": None,
            "purged_at": None,
        },
    )
    return closure


@transaction.atomic
def close_space(
    person: Person, *, actor: User | None = None, delete_now: bool = False, note: str = ""
) -> Closure:
    """Close a space: data archived (encrypted) 10 years, or deleted within 3 months.

    The account can no longer sign in; reopening (``activate`` with a new
    provisional code) brings everything back while the data are archived.
    """
    now = timezone.now()
    person = lock_person(person.pk)
    closed = Closure.objects.filter(patient=person).first()
    if person.space_state == S.CLOSED and closed and actor and actor.pk == person.user_id:
        # Her own request sent again (a double click, a retry, another tab): her space
        # is closed as she asked, once, with one notice; never an error page.
        return closed
    transition(
        person,
        Event.CLOSED,
        actor=actor,
        note=note or ("suppression demandée" if delete_now else ""),
    )
    closure = archive_space(person, now)
    if delete_now:
        closure.deletion_requested_at = now
        closure.purge_after = now
        closure.save()
    if person.user_id:
        User.objects.filter(pk=person.user_id).update(is_active=False)
    tell(person, "closed")

    # Now for a requested deletion; at the end of the archive period otherwise
    # (`enroll purge` from cron does the same, should the queue be lost).
    if delete_now:
        purge_closed_spaces.enqueue()
    else:
        purge_closed_spaces.using(run_after=closure.purge_after).enqueue()
    return closure


def _operator_switch(
    person: Person, event: str, *, actor: User, reason: str, active: bool
) -> Person:
    """Move the space to its next state for an operator; signing in follows it."""
    person = lock_person(person.pk)
    transition(person, event, actor=actor, note=reason)
    if person.user_id:
        User.objects.filter(pk=person.user_id).update(is_active=active)
    return person


@transaction.atomic
def suspend_space(person: Person, *, actor: User, reason: str) -> None:
    """Operator: suspend access on serious fraud or malfunction; the person is told."""
    person = _operator_switch(person, Event.SUSPENDED, actor=actor, reason=reason, active=False)
    tell(person, "suspended")


@transaction.atomic
def resume_space(person: Person, *, actor: User, reason: str) -> None:
    """Operator: end a suspension; the space returns to its previous state."""
    _operator_switch(person, Event.RESUMED, actor=actor, reason=reason, active=True)


def find_person(nir: str) -> Person | None:
    """Operator look-up by NIR (administrative identity only, never health data)."""
    try:
        nir = identity_validators.validate_nir(nir)
    except ValidationError:
        return None
    return Person.objects.filter(ins_matricule=nir).first()


def send_closing_code(person: Person) -> str:
    """Email a 6-digit confirmation code for closing; returns its digest (kept by the caller)."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    body = render_to_string("enrollment/email/close_code.txt", {"person": person, "code": code})
    email = person.user.email if person.user_id else person.email
    EmailMessage("espace-santé — code de confirmation de fermeture", body, to=[email]).send()
    return code_digest(person.pk, "close:" + code)


CLOSING_CODE_ATTEMPTS = 3
CLOSING_CODE_SECONDS = 10 * 60


class ClosingCodeLocked(Exception):
    """Every attempt allowed for this closing code was used: start the closing again."""


def closing_code_matches(person: Person, digest: str, typed: str) -> bool:
    """Compare a typed closing code; ``ClosingCodeLocked`` once its attempts are used.

    Each attempt first claims one of the code's CLOSING_CODE_ATTEMPTS slots in
    the shared cache (``add`` is atomic: parallel requests cannot claim the same
    one), so parallel guesses compare at most that many codes; the session's
    count alone let each of them through.
    """
    claimed = any(
        cache.add(f"closing-code:{person.pk}:{digest}:{slot}", True, CLOSING_CODE_SECONDS)
        for slot in range(CLOSING_CODE_ATTEMPTS)
    )
    if not claimed:
        raise ClosingCodeLocked
    typed = "".join(ch for ch in typed or "" if ch.isdigit())
    return hmac.compare_digest(digest, code_digest(person.pk, "close:" + typed))


def reopen_space(person: Person, user: User) -> None:
    closure = Closure.objects.filter(patient=person).first()
    if closure and closure.purged_at:
        # The data are gone with their keys: the space starts empty, with new keys.
        from espace_sante.crypto.services import renew_after_shred

        renew_after_shred(person.pk)
        note = "données supprimées auparavant"
    else:
        note = "données archivées restaurées"
    Closure.objects.filter(patient=person).delete()
    transition(person, Event.REOPENED, actor=user, note=note)
