"""The key-encryption key (KEK): a Tink AEAD keyset that wraps every patient's keysets.

Here the KEK is a cleartext JSON keyset in a file (``settings.KEK_KEYSET_FILE``,
by default ``var/keys/kek.json``, mode 0600 in a 0700 directory), created on
first use. That is the embedded and single-server setup only: in production the
file is replaced by a key held in a KMS or an HSM (Tink wraps keysets with a
KMS AEAD, e.g. ``tink.integration.gcpkms`` / ``awskms`` or Vault transit), so that
a copy of the disk and of the database together still cannot unwrap anything.
Not implemented here on purpose.

Every process re-reads the file when it changes (one ``stat`` per use), so a
rotation done by ``espace-sante keys rotate`` in another process is seen at once
by the web and worker processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tink
from django.conf import settings
from tink import aead, secret_key_access
from tink.proto import tink_pb2

from .errors import CryptoError
from .files import fsync_directory, publish_private, write_private

aead.register()

log = logging.getLogger(__name__)

KEK_TEMPLATE = aead.aead_key_templates.AES256_GCM


# (path, st_dev, st_ino, st_mtime_ns, st_size) of the keyset file.
Signature = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class Kek:
    """One loaded version of the KEK keyset file."""

    path: Path
    signature: Signature
    handle: tink.KeysetHandle
    aead: aead.Aead
    primary_key_id: int
    key_ids: tuple[int, ...]

    @property
    def old_key_ids(self) -> tuple[int, ...]:
        return tuple(key_id for key_id in self.key_ids if key_id != self.primary_key_id)


_lock = threading.Lock()
_loaded: Kek | None = None


def keyset_path() -> Path:
    return Path(settings.KEK_KEYSET_FILE)


def _signature(path: Path, st: os.stat_result) -> Signature:
    # os.replace gives the file a new inode: a rotation is always noticed.
    return (str(path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def current(*, create: bool = True) -> Kek:
    """The KEK as it is on disk now: created if missing, reloaded if the file changed."""
    global _loaded
    path = keyset_path()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if not create:
            raise CryptoError(
                f"Pas encore de fichier de clé de chiffrement de clés {path} : il est créé au "
                "premier chiffrement."
            ) from None
        _create(path)
        st = os.stat(path)
    loaded = _loaded
    if loaded is not None and loaded.signature == _signature(path, st):
        return loaded
    with _lock:
        _loaded = _load(path)
        return _loaded


def forget() -> None:
    """Drop the loaded KEK (tests, or after changing settings.KEK_KEYSET_FILE)."""
    global _loaded
    with _lock:
        _loaded = None


def _load(path: Path) -> Kek:
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        text = handle.read().decode("utf-8")
    if st.st_mode & 0o077:
        log.warning(
            "The key-encryption keyset file %s is readable by other users (mode %o): make it 0600.",
            path,
            stat.S_IMODE(st.st_mode),
        )
    try:
        keyset_handle = tink.json_proto_keyset_format.parse(text, secret_key_access.TOKEN)
        primitive = keyset_handle.primitive(aead.Aead)
    except (tink.TinkError, ValueError) as exc:
        raise CryptoError(f"Fichier de clé de chiffrement de clés illisible : {path}") from exc
    info = keyset_handle.keyset_info()
    return Kek(
        path=path,
        signature=_signature(path, st),
        handle=keyset_handle,
        aead=primitive,
        primary_key_id=info.primary_key_id,
        key_ids=tuple(key.key_id for key in info.key_info),
    )


def _serialize(keyset_handle: tink.KeysetHandle) -> bytes:
    serialized: str = tink.json_proto_keyset_format.serialize(
        keyset_handle, secret_key_access.TOKEN
    )
    return serialized.encode("utf-8")


def _create(path: Path) -> None:
    """Create a fresh KEK file, unless one appears meanwhile or patients' keys already exist."""
    from .models import PatientKeys

    # A missing KEK while wrapped keys exist means a lost or unmounted file:
    # creating a new one would silently split the patients between two KEKs.
    if PatientKeys.objects.filter(destroyed_at__isnull=True).exists():
        raise CryptoError(
            f"Le fichier de la clé de chiffrement de clés {path} est introuvable alors que des "
            "clés de patients existent : restaurez-le (ou corrigez KEK_KEYSET_FILE)."
        )
    publish_private(path, _serialize(tink.new_keyset_handle(KEK_TEMPLATE)), "Key-encryption keyset")


def _replace(path: Path, keyset: tink_pb2.Keyset) -> Kek:
    """Atomically replace the keyset file: temp file in the same dir, fsync, os.replace."""
    keyset_handle = tink.proto_keyset_format.parse(
        keyset.SerializeToString(), secret_key_access.TOKEN
    )
    temporary = write_private(path, _serialize(keyset_handle))
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    forget()
    return current()


def add_primary_key() -> Kek:
    """Add a new AES256_GCM key and make it primary; old keys stay to unwrap old rows.

    Call only under ``rotation_lock()``.
    """
    kek = current()
    keyset = _keyset_proto(kek.handle)
    while True:
        new_key = _keyset_proto(tink.new_keyset_handle(KEK_TEMPLATE)).key[0]
        if new_key.key_id not in kek.key_ids:  # 32-bit random ids: collisions are rare
            break
    keyset.key.append(new_key)
    keyset.primary_key_id = new_key.key_id
    return _replace(kek.path, keyset)


def remove_old_keys() -> tuple[int, ...]:
    """Delete every key but the primary from the keyset file; return the removed ids.

    Call only under ``rotation_lock()`` and once no live row uses the old keys.
    The old file's blocks may linger on disk (journal, SSD remapping): the copy
    that counts is gone, but only a KMS/HSM gives a guaranteed destruction.
    """
    kek = current()
    removed = kek.old_key_ids
    if not removed:
        return ()
    keyset = _keyset_proto(kek.handle)
    kept = [key for key in keyset.key if key.key_id == kek.primary_key_id]
    del keyset.key[:]
    keyset.key.extend(kept)
    _replace(kek.path, keyset)
    return removed


def _keyset_proto(keyset_handle: tink.KeysetHandle) -> tink_pb2.Keyset:
    return tink_pb2.Keyset.FromString(
        tink.proto_keyset_format.serialize(keyset_handle, secret_key_access.TOKEN)
    )


@contextlib.contextmanager
def rotation_lock() -> Iterator[None]:
    """Only one rotation at a time: two would each add a key and one would be lost."""
    path = keyset_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CryptoError(
                "Une rotation de la clé de chiffrement de clés est déjà en cours."
            ) from exc
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
