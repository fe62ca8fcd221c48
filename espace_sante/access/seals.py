"""Seals of the audit trail: the chain heads, signed and appended outside the database.

``seal()`` reads every patient's chain head (sequence and hash) in one query,
writes them to a heads file under ``settings.AUDIT_SEALS_DIR`` (by default
``var/audit-seals/``) and appends one line to ``seals.jsonl``: the seal's
number, time, number of patients and of entries, the SHA-256 of the heads
file, the SHA-256 of the previous line (a signature chain: a seal cannot be
removed, reordered or edited without breaking the next one) and an Ed25519
signature of all that (``audit_keys``). The file is only ever appended to.

``audit verify`` then checks the trail against the latest seal: an entry count
below the sealed one (truncation), a sealed entry gone or changed (a rewound
head, a recomputed chain) and keyless entries after the seal (a chain rewritten
in format 1) are reported. What was written after the latest seal is protected
by the keyed chain and the head table only, until the next seal.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from espace_sante.crypto.files import fsync_directory, write_private

from . import audit_keys
from .models import AuditHead
from .verification import Seal, SealedHead, patient_key, snapshot, verify

log = logging.getLogger(__name__)

SEAL_FORMAT = 1
GENESIS = "0" * 64
SEALS_FILE = "seals.jsonl"


class SealError(Exception):
    """The seal file is broken (French message): forged, reordered, cut or unreadable."""


def seals_dir() -> Path:
    configured = getattr(settings, "AUDIT_SEALS_DIR", "")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "audit-seals"


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _heads_bytes(heads: list[tuple[str, int, str]]) -> bytes:
    return "".join(f"{p} {s} {h}\n" for p, s, h in heads).encode("ascii")


def _parse_heads(raw: bytes) -> dict[str, SealedHead]:
    heads: dict[str, SealedHead] = {}
    for line in raw.decode("ascii").splitlines():
        patient, sequence, entry_hash = line.split(" ")
        heads[patient] = SealedHead(int(sequence), entry_hash)
    return heads


@contextlib.contextmanager
def _sealing_lock(directory: Path) -> Iterator[None]:
    fd = os.open(directory / ".seal.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_lines(directory: Path) -> list[bytes]:
    try:
        raw = (directory / SEALS_FILE).read_bytes()
    except FileNotFoundError:
        return []
    if raw and not raw.endswith(b"\n"):
        raise SealError("Le fichier des scellements se termine par une ligne incomplète.")
    return raw.splitlines()


def latest() -> Seal | None:
    """The latest seal, after checking the whole signature chain; None when never sealed.

    Raises ``SealError`` when a line is forged, missing, reordered or edited, or
    when the heads file of the latest seal does not match its hash.
    """
    directory = seals_dir()
    lines = _read_lines(directory)
    if not lines:
        return None
    try:
        keys = audit_keys.seal_verifying_keys()
    except audit_keys.AuditKeyError as exc:
        raise SealError(str(exc)) from exc
    previous = GENESIS
    signer = ""  # the key the next seal must be signed with, once one seal is read
    body: dict[str, Any] = {}
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            signature = base64.b64decode(record.pop("signature"), validate=True)
        except (ValueError, KeyError, AttributeError) as exc:
            raise SealError(f"Scellement n° {number} illisible.") from exc
        body = record
        if body.get("seal") != number:
            raise SealError(f"Scellement n° {number} : numéro {body.get('seal')} inattendu.")
        if body.get("previous") != previous:
            raise SealError(
                f"Scellement n° {number} : il ne suit pas le scellement précédent "
                "(scellement supprimé, inséré ou modifié)."
            )
        if signer and body.get("public_key_sha256") != signer:
            raise SealError(
                f"Scellement n° {number} : signé par une clé que le scellement précédent "
                "n'annonçait pas."
            )
        public_key = keys.get(str(body.get("public_key_sha256")))
        if public_key is None:
            raise SealError(f"Scellement n° {number} : signé par une autre clé.")
        try:
            public_key.verify(signature, _canonical(body))
        except InvalidSignature:
            raise SealError(f"Scellement n° {number} : signature invalide (modifié).") from None
        signer = str(body.get("next_public_key_sha256") or body["public_key_sha256"])
        previous = hashlib.sha256(line).hexdigest()
    heads_path = directory / str(body["heads_file"])
    try:
        raw = heads_path.read_bytes()
    except FileNotFoundError:
        raise SealError(f"Têtes du scellement n° {body['seal']} introuvables.") from None
    if hashlib.sha256(raw).hexdigest() != body["heads_sha256"]:
        raise SealError(f"Têtes du scellement n° {body['seal']} modifiées.")
    try:
        return Seal(
            number=int(body["seal"]),
            at=str(body["at"]),
            patients=int(body["patients"]),
            entries=int(body["entries"]),
            heads=_parse_heads(raw),
            signer=signer,
        )
    except (ValueError, KeyError) as exc:
        raise SealError(f"Scellement n° {body['seal']} illisible.") from exc


def current_heads() -> list[tuple[str, int, str]]:
    """Every non-empty chain head, sorted by patient, read in one query (one snapshot)."""
    rows = AuditHead.objects.filter(sequence__gt=0).values_list(
        "patient_id", "sequence", "entry_hash"
    )
    return sorted((patient_key(p), int(s), str(h)) for p, s, h in rows)


def _signing_key(previous_seal: Seal | None) -> Ed25519PrivateKey:
    """The key this seal is signed with, finishing a rotation a crash interrupted.

    A next key announced by the latest seal replaces the current one; a next
    key no seal announced is dropped (that rotation did not happen).
    """
    waiting = audit_keys.next_seal_key(create=False)
    if waiting is not None:
        announced = previous_seal is not None and previous_seal.signer == (
            audit_keys.public_sha256(waiting.public_key())
        )
        if announced:
            audit_keys.promote_next_seal_key()
        else:
            audit_keys.discard_next_seal_key()
    key = audit_keys.seal_signing_key()
    if previous_seal and previous_seal.signer != audit_keys.public_sha256(key.public_key()):
        raise SealError(
            f"Scellement refusé : la clé de scellement n'est pas celle que le scellement "
            f"n° {previous_seal.number} annonce (clé remplacée ou perdue)."
        )
    return key


def seal(*, rotate: bool = False) -> Seal:
    """Sign the current heads and append the seal; refuse if the trail does not verify.

    The patients whose head moved since the previous seal are verified first
    (their chains and the previous seal), so a seal never attests a tampered
    state it could have noticed. ``rotate``: this seal, signed with the current
    key, announces a new key that signs every later seal.
    """
    directory = seals_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _sealing_lock(directory):
        previous_seal = latest()
        signing_key = _signing_key(previous_seal)
        lines = _read_lines(directory)
        with snapshot():
            heads = current_heads()
            before = previous_seal.heads if previous_seal else {}
            moved = [p for p, s, h in heads if before.get(p) != SealedHead(s, h)]
            gone = sorted(set(before) - {p for p, _, _ in heads})
            problems = []
            for patient in moved + gone:
                problems += verify(patient, previous_seal)[2]
        if problems:
            raise SealError(
                "Scellement refusé : le journal d'accès ne se vérifie pas ("
                + "; ".join(str(p) for p in problems[:5])
                + (" …" if len(problems) > 5 else "")
                + ")."
            )
        number = len(lines) + 1
        heads_raw = _heads_bytes(heads)
        heads_name = f"heads-{number:06d}.txt"
        temporary = write_private(directory / heads_name, heads_raw)
        os.replace(temporary, directory / heads_name)
        body = {
            "format": SEAL_FORMAT,
            "seal": number,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "previous": hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS,
            "patients": len(heads),
            "entries": sum(s for _, s, _ in heads),
            "heads_file": heads_name,
            "heads_sha256": hashlib.sha256(heads_raw).hexdigest(),
            "public_key_sha256": audit_keys.public_sha256(signing_key.public_key()),
        }
        next_key = audit_keys.next_seal_key(create=True) if rotate else None
        if next_key is not None:
            body["next_public_key_sha256"] = audit_keys.public_sha256(next_key.public_key())
        signature = base64.b64encode(signing_key.sign(_canonical(body))).decode("ascii")
        line = json.dumps({**body, "signature": signature}, sort_keys=True, separators=(",", ":"))
        fd = os.open(directory / SEALS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_directory(directory)
        if next_key is not None:
            audit_keys.promote_next_seal_key()
            log.info("Audit seal key rotated at seal %s", number)
    log.info(
        "Audit trail sealed: seal %s, %s patients, %s entries",
        number,
        body["patients"],
        body["entries"],
    )
    return Seal(
        number=number,
        at=str(body["at"]),
        patients=len(heads),
        entries=int(str(body["entries"])),
        heads={p: SealedHead(s, h) for p, s, h in heads},
        signer=str(body.get("next_public_key_sha256") or body["public_key_sha256"]),
    )
