"""The keys of the audit trail, kept outside the database.

- The HMAC keyring (``settings.AUDIT_HMAC_KEYS_FILE``, by default
  ``var/keys/audit_hmac.json``, mode 0600, created on first use) keys the chain
  of every new entry (``chain.FORMAT`` 2). Each entry records the id of the key
  it was chained with; ``rotate_hmac_key`` adds a key and makes it the one new
  entries use, and old keys stay in the file to verify old entries.
- The Ed25519 key that signs the seals of the chain heads
  (``settings.AUDIT_SEAL_KEY_FILE``, by default ``var/keys/audit_seal_ed25519.pem``),
  with its public half next to it (``.pub``), which is all a verifier needs. A
  rotation (``seals.seal(rotate=True)``) appends the next public key to the
  .pub file, announces it in a seal signed by the current key, then replaces
  the private key; the .pub file keeps every public key.

Whoever holds the database but not these files cannot recompute a keyed chain
nor forge a seal. In production both belong on another disk than the database
(or in a KMS/HSM), like the key-encryption key (``crypto/kek.py``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from espace_sante.crypto.files import fsync_directory, publish_private, write_private

log = logging.getLogger(__name__)

HMAC_KEY_BYTES = 32


class AuditKeyError(Exception):
    """A key of the audit trail is missing, unreadable or unknown (French message)."""


def hmac_keys_path() -> Path:
    configured = getattr(settings, "AUDIT_HMAC_KEYS_FILE", "")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "keys" / "audit_hmac.json"


def seal_key_path() -> Path:
    configured = getattr(settings, "AUDIT_SEAL_KEY_FILE", "")
    if configured:
        return Path(configured)
    return Path(settings.VAR_DIR) / "keys" / "audit_seal_ed25519.pem"


def seal_public_key_path() -> Path:
    path = seal_key_path()
    return path.with_name(path.stem + ".pub")


@dataclass(frozen=True)
class Keyring:
    primary: str
    keys: dict[str, bytes]

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise AuditKeyError(
                f"Clé d'empreinte du journal inconnue : « {key_id} » (absente de "
                f"{hmac_keys_path()})."
            ) from None


_lock = threading.Lock()
_loaded: tuple[tuple[str, int, int], Keyring] | None = None


def keyring(*, create: bool = True) -> Keyring:
    """The HMAC keyring as it is on disk now: created if missing, reloaded if it changed."""
    global _loaded
    path = hmac_keys_path()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if not create:
            raise AuditKeyError(f"Pas de trousseau de clés du journal d'accès : {path}") from None
        _create_keyring(path)
        st = os.stat(path)
    signature = (str(path), st.st_ino, st.st_mtime_ns)
    loaded = _loaded
    if loaded is not None and loaded[0] == signature:
        return loaded[1]
    with _lock:
        ring = _read_keyring(path)
        _loaded = (signature, ring)
        return ring


def _read_keyring(path: Path) -> Keyring:
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        raw = handle.read()
    if st.st_mode & 0o077:
        log.warning(
            "The audit HMAC keyring %s is readable by other users (mode %o): make it 0600.",
            path,
            stat.S_IMODE(st.st_mode),
        )
    try:
        data = json.loads(raw)
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
        ring = Keyring(primary=str(data["primary"]), keys=keys)
        ring.key(ring.primary)
    except (ValueError, KeyError, TypeError, AuditKeyError) as exc:
        raise AuditKeyError(f"Trousseau de clés du journal d'accès illisible : {path}") from exc
    return ring


def _serialize(ring: Keyring) -> bytes:
    data = {
        "primary": ring.primary,
        "keys": {k: base64.b64encode(v).decode("ascii") for k, v in ring.keys.items()},
    }
    return json.dumps(data, indent=1, sort_keys=True).encode()


def _new_key_id(taken: dict[str, bytes]) -> str:
    while True:
        key_id = secrets.token_hex(4)
        if key_id not in taken:
            return key_id


def _create_keyring(path: Path) -> None:
    from .models import AuditEntry

    # Keyed entries without their keyring: a lost or unmounted file. A new key
    # would verify nothing already written and hide the loss.
    if AuditEntry.objects.filter(chain_format__gte=2).exists():
        raise AuditKeyError(
            f"Le trousseau de clés du journal d'accès {path} est introuvable alors que des "
            "entrées chaînées par clé existent : restaurez-le (ou corrigez AUDIT_HMAC_KEYS_FILE)."
        )
    key_id = _new_key_id({})
    content = _serialize(
        Keyring(primary=key_id, keys={key_id: secrets.token_bytes(HMAC_KEY_BYTES)})
    )
    publish_private(path, content, "Audit key")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def rotate_hmac_key() -> tuple[str, str]:
    """Add a key and make it primary; old keys stay. Returns (old id, new id)."""
    global _loaded
    path = hmac_keys_path()
    with _file_lock(path):
        ring = keyring()
        new_id = _new_key_id(ring.keys)
        rotated = Keyring(
            primary=new_id, keys={**ring.keys, new_id: secrets.token_bytes(HMAC_KEY_BYTES)}
        )
        temporary = write_private(path, _serialize(rotated))
        try:
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_directory(path.parent)
        with _lock:
            _loaded = None
    log.info("Audit HMAC key rotated: %s -> %s", ring.primary, new_id)
    return ring.primary, new_id


def forget() -> None:
    """Drop the loaded keyring (tests, or after changing the setting)."""
    global _loaded
    with _lock:
        _loaded = None


# --- The seal signing key ----------------------------------------------------


def _create_seal_key(path: Path, label: str) -> None:
    private = Ed25519PrivateKey.generate()
    publish_private(
        path,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        label,
    )


def _read_seal_key(path: Path) -> Ed25519PrivateKey:
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise AuditKeyError(f"Clé de scellement du journal illisible : {path}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise AuditKeyError(f"La clé de scellement {path} n'est pas une clé Ed25519.")
    return loaded


def seal_signing_key() -> Ed25519PrivateKey:
    """The Ed25519 key that signs seals: created (0600) with its public half on first use."""
    path = seal_key_path()
    if not path.exists():
        _create_seal_key(path, "Audit seal key")
    loaded = _read_seal_key(path)
    public = seal_public_key_path()
    if not public.exists():
        public.write_bytes(public_pem(loaded.public_key()))
    return loaded


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_sha256(key: Ed25519PublicKey) -> str:
    """How a seal names the key that signed it."""
    return hashlib.sha256(public_pem(key)).hexdigest()


def seal_verifying_keys() -> dict[str, Ed25519PublicKey]:
    """Every public key seals were ever signed with (the .pub file), by SHA-256.

    The file gains a key at each rotation and never loses one, so old seals
    still verify; which key signs which seal is fixed by the seal file itself
    (each rotation is announced in a seal signed by the previous key).
    """
    path = seal_public_key_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AuditKeyError(f"Clé publique de scellement introuvable : {path}") from None
    keys: dict[str, Ed25519PublicKey] = {}
    end = b"-----END PUBLIC KEY-----"
    for block in raw.split(end)[:-1]:
        try:
            loaded = serialization.load_pem_public_key(block.strip() + b"\n" + end + b"\n")
        except ValueError as exc:
            raise AuditKeyError(f"Clé publique de scellement illisible : {path}") from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise AuditKeyError(f"La clé publique de scellement {path} n'est pas une clé Ed25519.")
        keys[public_sha256(loaded)] = loaded
    if not keys:
        raise AuditKeyError(f"Clé publique de scellement illisible : {path}")
    return keys


def _next_seal_key_path() -> Path:
    path = seal_key_path()
    return path.with_name(path.stem + ".next.pem")


def next_seal_key(*, create: bool) -> Ed25519PrivateKey | None:
    """The key a rotation in progress moves to (kept beside the current one until done).

    ``create`` makes it (0600) and appends its public half to the .pub file
    before any seal announces it, so a verifier always knows an announced key.
    """
    path = _next_seal_key_path()
    if not path.exists():
        if not create:
            return None
        _create_seal_key(path, "Next audit seal key")
    loaded = _read_seal_key(path)
    public = seal_public_key_path()
    if public_sha256(loaded.public_key()) not in seal_verifying_keys():
        fd = os.open(public, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, public_pem(loaded.public_key()))
            os.fsync(fd)
        finally:
            os.close(fd)
    return loaded


def promote_next_seal_key() -> None:
    """The announced key becomes the signing key; the old private key is gone."""
    os.replace(_next_seal_key_path(), seal_key_path())
    fsync_directory(seal_key_path().parent)


def discard_next_seal_key() -> None:
    """A rotation that never reached the seal file: its key signs nothing."""
    with contextlib.suppress(FileNotFoundError):
        _next_seal_key_path().unlink()
