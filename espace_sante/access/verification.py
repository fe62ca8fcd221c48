"""Checking the audit trail: each patient's chain, its head, and the latest seal.

``verify`` walks every chain in sequence order and recomputes each hash
(SHA-256 for format 1, HMAC with the entry's key for format 2). Given the
latest seal (``seals.latest()``), it also reports a trail shorter than sealed,
a sealed entry gone or changed, and keyless (format 1) entries the seal does
not cover: what someone holding the database but not the keys can do.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from . import audit_keys, chain
from .models import AuditEntry, AuditHead


@dataclass(frozen=True)
class SealedHead:
    sequence: int
    entry_hash: str


@dataclass(frozen=True)
class Seal:
    number: int
    at: str
    patients: int
    entries: int
    heads: dict[str, SealedHead]  # patient id (canonical UUID text) -> its head
    signer: str = ""  # SHA-256 of the public key the next seal must be signed with


@dataclass
class Problem:
    patient_id: uuid.UUID | str | None
    sequence: int | None
    what: str

    def __str__(self) -> str:
        if self.patient_id is None:
            return f"Journal : {self.what}"
        where = f", entrée n° {self.sequence}" if self.sequence is not None else ""
        return f"Patient {self.patient_id}{where} : {self.what}"


def patient_key(patient_id: uuid.UUID | str) -> str:
    return str(patient_id if isinstance(patient_id, uuid.UUID) else uuid.UUID(str(patient_id)))


@contextlib.contextmanager
def snapshot() -> Iterator[None]:
    """On PostgreSQL, one REPEATABLE READ snapshot for the whole walk: entries and heads
    written meanwhile by the service are not half seen (no false alarm). Inside a
    transaction already begun (tests), that transaction's view is used."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _keyring() -> audit_keys.Keyring | None:
    try:
        return audit_keys.keyring(create=False)
    except audit_keys.AuditKeyError:
        return None


def _hash_problem(
    entry: AuditEntry, keys: audit_keys.Keyring | None, keyed_seen: bool
) -> str | None:
    """Why this entry's own hash is wrong, or None."""
    fields = chain.fields_of(entry)
    if entry.chain_format == chain.UNKEYED_FORMAT:
        if keyed_seen:
            return (
                "entrée sans clé après une entrée chaînée par clé (chaîne recalculée sans la clé ?)"
            )
        key = None
    elif entry.chain_format == chain.FORMAT:
        if keys is None or entry.key_id not in keys.keys:
            return f"clé d'empreinte « {entry.key_id} » inconnue (entrée forgée ?)"
        key = keys.key(entry.key_id)
    else:
        return f"format de chaîne {entry.chain_format} inconnu (entrée forgée ?)"
    if chain.digest(fields, key) != entry.entry_hash:
        return "le contenu ne correspond plus à son empreinte (entrée modifiée ou déplacée)"
    return None


def verify_patient(
    patient_id: uuid.UUID | str,
    seal: Seal | None = None,
    keys: audit_keys.Keyring | None = None,
) -> tuple[int, list[Problem]]:
    """Walk one patient's chain in sequence order; return (entries seen, problems)."""
    problems: list[Problem] = []
    expected, previous_hash, count = 1, chain.GENESIS, 0
    keyed_seen = False
    sealed = seal.heads.get(patient_key(patient_id)) if seal else None
    number = seal.number if seal else 0
    sealed_found = False
    rows = AuditEntry.objects.filter(patient_id=patient_id).order_by("sequence")
    for entry in rows.iterator(chunk_size=2000):
        count += 1
        if entry.sequence > expected:
            missing = (
                f"l'entrée n° {expected} manque"
                if entry.sequence == expected + 1
                else f"les entrées n° {expected} à {entry.sequence - 1} manquent"
            )
            problems.append(Problem(patient_id, entry.sequence, f"{missing} (supprimées ?)"))
        if entry.previous_hash != previous_hash:
            problems.append(
                Problem(
                    patient_id,
                    entry.sequence,
                    "le lien avec l'entrée précédente est rompu "
                    "(entrée supprimée, insérée ou déplacée)",
                )
            )
        if (what := _hash_problem(entry, keys, keyed_seen)) is not None:
            problems.append(Problem(patient_id, entry.sequence, what))
        if seal is not None and entry.chain_format == chain.UNKEYED_FORMAT:
            if sealed is None or entry.sequence > sealed.sequence:
                problems.append(
                    Problem(
                        patient_id,
                        entry.sequence,
                        f"entrée sans clé que le scellement n° {seal.number} ne couvre pas "
                        "(chaîne recalculée sans la clé ?)",
                    )
                )
        if sealed is not None and entry.sequence == sealed.sequence:
            sealed_found = True
            if entry.entry_hash != sealed.entry_hash:
                problems.append(
                    Problem(
                        patient_id,
                        entry.sequence,
                        f"l'entrée ne correspond pas au scellement n° {number} (chaîne réécrite ?)",
                    )
                )
        keyed_seen = keyed_seen or entry.chain_format != chain.UNKEYED_FORMAT
        expected, previous_hash = entry.sequence + 1, entry.entry_hash
    if sealed is not None and not sealed_found:
        problems.append(
            Problem(
                patient_id,
                sealed.sequence,
                f"l'entrée scellée (scellement n° {number}) a disparu "
                "(entrées supprimées, tête de chaîne reculée ?)",
            )
        )
    head = AuditHead.objects.filter(patient_id=patient_id).first()
    last = expected - 1
    if head is None:
        if count:
            problems.append(
                Problem(patient_id, None, "la tête de chaîne a disparu (table modifiée)")
            )
    else:
        if sealed is not None and head.sequence < sealed.sequence:
            problems.append(
                Problem(
                    patient_id,
                    head.sequence,
                    f"la tête de chaîne est revenue avant l'entrée n° {sealed.sequence} "
                    f"scellée (scellement n° {number})",
                )
            )
        if head.sequence > last:
            gone = (
                f"l'entrée n° {head.sequence}"
                if head.sequence == last + 1
                else f"les entrées n° {last + 1} à {head.sequence}"
            )
            problems.append(
                Problem(
                    patient_id, head.sequence, f"{gone} manque(nt) en fin de chaîne (supprimées ?)"
                )
            )
        elif head.sequence < last:
            problems.append(
                Problem(
                    patient_id,
                    last,
                    f"des entrées ont été ajoutées après la n° {head.sequence} hors du service",
                )
            )
        elif count and head.entry_hash != previous_hash:
            problems.append(
                Problem(
                    patient_id,
                    last,
                    "la dernière entrée ne correspond pas à la tête de chaîne (remplacée ?)",
                )
            )
    return count, problems


def verify(
    patient_id: uuid.UUID | str | None = None, seal: Seal | None = None
) -> tuple[int, int, list[Problem]]:
    """Every patient's chain (or one), against ``seal`` if given: (patients, entries, problems)."""
    keys = _keyring()
    patients: list[uuid.UUID | str]
    if patient_id is not None:
        patients = [patient_id]
    else:
        patients = sorted(
            {
                patient_key(p)
                for p in AuditEntry.objects.values_list("patient_id", flat=True).distinct()
            }
            | {patient_key(p) for p in AuditHead.objects.values_list("patient_id", flat=True)}
            | (set(seal.heads) if seal else set())
        )
    entries = 0
    problems: list[Problem] = []
    for patient in patients:
        count, found = verify_patient(patient, seal, keys)
        entries += count
        problems += found
    if seal is not None and patient_id is None and entries < seal.entries:
        problems.insert(
            0,
            Problem(
                None,
                None,
                f"{entries} entrée(s) en base, le scellement n° {seal.number} du {seal.at} "
                f"en atteste {seal.entries} (journal tronqué)",
            ),
        )
    return len(patients), entries, problems
