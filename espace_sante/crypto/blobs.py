"""The encrypted blob store: the bytes of documents and message attachments.

One place writes, reads and deletes blobs (Django storage ``blobs``: files
under ``var/blobs`` by default, S3 in production). Architecture rules 4 and 5:

- a blob is encrypted with the patient's streaming AEAD, bound to the patient
  and the object (a blob copied onto another row or patient does not decrypt);
- ``store`` returns only once the blob is durable (fsynced on local disk), and
  never overwrites an existing name, so the row written after it always finds
  its bytes;
- a write that fails (disk full, I/O error, any exception while writing,
  flushing, syncing or closing) deletes what it wrote before the error goes
  on: no partial blob stays, and the caller writes no row; a full disk
  (``ENOSPC``, ``EDQUOT``) is raised as ``StorageFull`` for the doors to say so;
- a crash between blob and row leaves an unreferenced blob, which
  ``sweep_orphans`` deletes once it is older than the grace period; a process
  killed while it checked an upload leaves its plaintext copy in ``var/tmp``,
  which ``sweep_temporary_files`` deletes (the host must not keep what it
  cannot read).

The apps that own rows (record, messaging) keep the names in their rows and
say which names are referenced; this module knows no model.
"""

import errno
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from .services import ObjectId, PatientRef
from .streams import open_decrypting_stream, open_encrypting_stream

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
ROOT = "patients"
# Where each kind of blob lives in its patient's folder. These are the names
# written since the first version: changing them would lose existing blobs.
FOLDERS = {"document": "", "attachment": "messages/"}
# A blob younger than this may belong to a deposit whose row is not committed yet.
GRACE_SECONDS = 3600


# The errors that mean "no room left": the disk is full or the quota is reached.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageFull(OSError):
    """The blob store has no room left (``ENOSPC``/``EDQUOT``): nothing was stored.

    Temporary by nature (an operator frees or adds space): the doors answer it
    with a French message and "try again later", never a generic error.
    """


def is_storage_full(error: BaseException | None) -> bool:
    """The error, or one it arose from, says the disk (or the quota) is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, StorageFull) or (
            isinstance(error, OSError) and error.errno in FULL_ERRNOS
        ):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def storage() -> Storage:
    return storages["blobs"]


def name_for(patient_id: PatientRef, object_id: ObjectId, *, kind: str) -> str:
    # Grouped by patient so a patient's blobs can be listed and purged together.
    return f"{ROOT}/{patient_id}/{FOLDERS[kind]}{object_id}.bin"


def _tmp_dir() -> Path:
    tmp_dir: Path = settings.VAR_DIR / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    return tmp_dir


@contextmanager
def _readable(source: str | os.PathLike[str] | IO[bytes]) -> Iterator[IO[bytes]]:
    """``source`` as a binary file to read: a path is opened (and closed), a file is used as is."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield handle
    else:
        yield source


def store(
    patient_id: PatientRef,
    object_id: ObjectId,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    kind: str,
) -> str:
    """Encrypt ``source`` (a path or a binary file) into the store; return its name once durable.

    Raises ``RuntimeError`` when the name is already taken: a blob is never
    overwritten (its row may already point at it).
    """
    name = name_for(patient_id, object_id, kind=kind)
    blobs = storage()
    if blobs.exists(name):  # checked first, so that a failed write only ever deletes its own
        raise RuntimeError(f"Blob name already taken: {name}")
    written = False
    try:
        with tempfile.TemporaryFile(dir=_tmp_dir()) as ciphertext:
            with _readable(source) as plaintext:
                with open_encrypting_stream(patient_id, object_id, ciphertext) as sink:
                    while chunk := plaintext.read(CHUNK):
                        sink.write(chunk)
            ciphertext.flush()
            ciphertext.seek(0)
            written = True  # from here on, ``name`` may exist partially: it is ours to delete
            stored = blobs.save(name, File(ciphertext, name=name))
        if stored != name:  # the storage chose another name: never rename silently
            blobs.delete(stored)
            written = False  # ``name`` belongs to whoever took it
            raise RuntimeError(f"Blob name already taken: {name}")
        _fsync_if_local(stored)
    except BaseException as error:
        if written:
            _delete_partial(name)
        if isinstance(error, OSError) and not isinstance(error, StorageFull):
            if error.errno in FULL_ERRNOS:
                raise StorageFull(error.errno, "Blob store full, nothing stored") from error
        raise
    return stored


def _delete_partial(name: str) -> None:
    """Remove what a failed write left under ``name`` (nothing if it never got created)."""
    try:
        storage().delete(name)
    except Exception:  # the original error matters more; the orphan sweep will retry
        logger.exception("Partial blob not deleted, left to the orphan sweep: %s", name)


def _fsync_if_local(name: str) -> None:
    """On local disk, make the blob durable before the row says it exists."""
    try:
        path = storage().path(name)
    except NotImplementedError:  # object storage: durable when save() returns
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def open_decrypted(patient_id: PatientRef, object_id: ObjectId, name: str) -> Iterator[BinaryIO]:
    """A readable stream of the plaintext (``DecryptionFailed`` on a misplaced or altered blob)."""
    with storage().open(name, "rb") as blob:
        yield open_decrypting_stream(patient_id, object_id, blob)


def iter_decrypted(
    patient_id: PatientRef, object_id: ObjectId, name: str, chunk_size: int = CHUNK
) -> Iterator[bytes]:
    """The plaintext in chunks, for streaming responses and copies."""
    with open_decrypted(patient_id, object_id, name) as stream:
        while chunk := stream.read(chunk_size):
            yield chunk


@contextmanager
def decrypted_copy(
    patient_id: PatientRef, object_id: ObjectId, name: str, *, filename: str
) -> Iterator[File[bytes]]:
    """The plaintext in a private temporary file, as an upload for another deposit.

    Read to the end before it is used, so an altered blob fails here and not
    halfway through the next deposit. The file is gone when the block exits.
    """
    with tempfile.TemporaryFile(dir=_tmp_dir()) as plain:
        for chunk in iter_decrypted(patient_id, object_id, name):
            plain.write(chunk)
        plain.seek(0)
        yield File(plain, name=filename)


def delete(names: Iterable[str]) -> None:
    """Delete blobs; one that cannot be deleted now is left to ``sweep_orphans``.

    Call it once no row references the names (after the rows are deleted or
    rolled back). Deleting a missing blob is a no-op, so it is safe to run twice.
    """
    blobs = storage()
    for name in names:
        if not name:
            continue
        try:
            blobs.delete(name)
        except OSError:
            logger.warning("Blob not deleted, left to the orphan sweep: %s", name)


def delete_after_commit(names: Iterable[str]) -> None:
    """Delete blobs once the transaction deleting their rows commits (never before)."""
    transaction.on_commit(partial(delete, list(names)))


def sweep_orphans(
    kind: str,
    referenced: Callable[[set[str]], set[str]],
    older_than_seconds: int = GRACE_SECONDS,
) -> int:
    """Delete the blobs of ``kind`` that no row references and that are older than the grace.

    ``referenced(names)`` returns those of ``names`` a row points at (the
    owning app queries its own table). A blob younger than
    ``older_than_seconds`` may be a deposit in progress (blob written, row not
    committed yet) and is never touched. Safe to run twice or on two workers:
    deleting a missing blob is a no-op. Returns the number deleted.
    """
    blobs = storage()
    limit = timezone.now().timestamp() - older_than_seconds
    removed = 0
    try:
        patient_dirs, _ = blobs.listdir(ROOT)
    except FileNotFoundError:
        return 0
    for patient_dir in patient_dirs:
        folder = f"{ROOT}/{patient_dir}/{FOLDERS[kind]}".rstrip("/")
        try:
            _, files = blobs.listdir(folder)
        except FileNotFoundError:
            continue
        names = {f"{folder}/{name}" for name in files}
        for name in names - referenced(names):
            if blobs.get_modified_time(name).timestamp() < limit:
                blobs.delete(name)
                removed += 1
    return removed


def sweep_temporary_files(older_than_seconds: int = GRACE_SECONDS) -> int:
    """Delete the files left in ``var/tmp`` by a process killed in the middle of a request.

    The upload checks and Django's upload handler keep a plaintext copy there while a
    request runs, and delete it when it ends; a process killed with SIGKILL (or out of
    memory) cannot. Requests last seconds (gunicorn's timeout is a minute), so a file
    older than the grace period belongs to nobody. Files only: a folder (the operator's
    imports waiting for the worker) is not ours. Returns the number deleted.
    """
    limit = timezone.now().timestamp() - older_than_seconds
    removed = 0
    for entry in os.scandir(_tmp_dir()):
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:  # its request ended meanwhile and removed it
            continue
    return removed
