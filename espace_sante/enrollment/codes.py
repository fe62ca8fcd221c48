import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from espace_sante.identity import validators as identity_validators
from espace_sante.identity.models import Person

from . import validators
from .models import (
    Beneficiary,
    CodeGuard,
    ProvisionalCode,
)

logger = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 12


# --- Provisional codes ---------------------------------------------------------


def code_digest(person_id, code: str) -> str:
    # HMAC bound to the person: a stolen table gives no code, and a digest
    # cannot be moved to someone else's row.
    message = f"provisional-code:{person_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def normalize_code(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def issue_code(person: Person, days: int, *, now=None) -> str:
    """A new provisional code for ``person``: earlier ones stop working. Returns it once."""
    now = now or timezone.now()
    ProvisionalCode.objects.filter(
        person=person, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    ProvisionalCode.objects.create(
        person=person,
        digest=code_digest(person.pk, code),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    return code


class CodeRefused(Exception):
    """The code, NIR and card serial do not open anything; ``reason`` says why."""

    MISMATCH = "mismatch"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass
class CodeCheck:
    person: Person
    code_id: int
    beneficiary: Beneficiary


def find_beneficiary(nir: str, card_serial: str) -> tuple[Person, Beneficiary] | None:
    try:
        nir = identity_validators.validate_nir(nir)
        card_serial = validators.validate_card_serial(card_serial)
    except ValidationError:
        return None
    beneficiary = (
        Beneficiary.objects.filter(person__ins_matricule=nir, card_serial=card_serial)
        .select_related("person", "campaign")
        .order_by("-created_at")
        .first()
    )
    if beneficiary is None:
        return None
    return beneficiary.person, beneficiary


def check_code(nir: str, card_serial: str, code: str, *, now=None) -> CodeCheck:
    """Check a provisional code against the NIR and card serial; raises CodeRefused.

    A wrong code counts against the person; after ENROLLMENT_CODE_MAX_FAILURES
    the form is locked for ENROLLMENT_CODE_LOCK_MINUTES, even with the right
    code. Does not use the code up (``activate`` and ``object`` do).
    """
    now = now or timezone.now()
    found = find_beneficiary(nir, card_serial)
    if found is None:
        raise CodeRefused(CodeRefused.MISMATCH)
    person, beneficiary = found
    digest = code_digest(person.pk, normalize_code(code))
    with transaction.atomic():
        CodeGuard.objects.get_or_create(person=person)
        guard = CodeGuard.objects.select_for_update().get(person=person)
        if guard.locked_until and guard.locked_until > now:
            reason = CodeRefused.LOCKED
        else:
            match = next(
                (
                    c
                    for c in ProvisionalCode.objects.filter(person=person, revoked_at__isnull=True)
                    if hmac.compare_digest(c.digest, digest)
                ),
                None,
            )
            if match is None:
                guard.failures += 1
                reason = CodeRefused.MISMATCH
                if guard.failures >= settings.ENROLLMENT_CODE_MAX_FAILURES:
                    guard.failures = 0
                    guard.locked_until = now + timedelta(
                        minutes=settings.ENROLLMENT_CODE_LOCK_MINUTES
                    )
                    reason = CodeRefused.LOCKED
                guard.save()
            elif match.used_at is not None:
                reason = CodeRefused.USED
            elif match.expires_at <= now:
                reason = CodeRefused.EXPIRED
            else:
                guard.failures = 0
                guard.locked_until = None
                guard.save()
                return CodeCheck(person=person, code_id=match.pk, beneficiary=beneficiary)
    raise CodeRefused(reason)


def use_code(person: Person, code_id: int, now) -> None:
    """Mark the code used; refuses a code used, revoked or expired meanwhile."""
    updated = ProvisionalCode.objects.filter(
        pk=code_id,
        person=person,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if not updated:
        raise CodeRefused(CodeRefused.USED)
