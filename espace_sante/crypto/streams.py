"""Blobs (document bytes, attachments) encrypted as streams with the patient's blob key.

Streaming AEAD (AES256_GCM_HKDF_1MB segments): memory stays around one segment
whatever the size of the blob. The keys themselves are in ``services.py``;
``blobs.py`` stores what these streams produce.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, BinaryIO, cast

import tink

from .errors import CryptoError, DecryptionFailed
from .services import (
    STREAM,
    ObjectId,
    PatientRef,
    associated_data_of,
    patient_primitive,
    patient_uuid,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

BLOB_PURPOSE = "blob"


class _Sink(io.RawIOBase):
    """What Tink writes into: passes bytes to the caller's destination, never closes it.

    After ``abandon()`` writes are dropped, so that a failed write never ends
    with the final segment that would make a truncated blob look complete.
    """

    def __init__(self, destination: BinaryIO):
        super().__init__()
        self._destination = destination
        self._abandoned = False

    def abandon(self) -> None:
        self._abandoned = True

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data)
        if self._abandoned:
            return len(view)
        done = 0
        while done < len(view):
            written = self._destination.write(view[done:])
            if written is None:  # file-likes that return nothing wrote everything
                break
            done += written
        return len(view)


@contextlib.contextmanager
def open_encrypting_stream(
    patient_id: PatientRef, object_id: ObjectId, destination: BinaryIO
) -> Iterator[BinaryIO]:
    """Context manager yielding a writable binary stream that encrypts into ``destination``.

    Streaming AEAD (AES256_GCM_HKDF_1MB segments) with the patient's blob key,
    associated data (patient, object, "blob"). Write the plaintext in chunks;
    memory stays around one segment whatever the size. The ciphertext is
    complete when the ``with`` block exits normally; ``destination`` is flushed
    but left open (the caller fsyncs, seeks or closes it). If the block raises,
    the final segment is not written, so the partial output never decrypts:
    discard it.
    """
    patient = patient_uuid(patient_id)
    associated_data = associated_data_of(patient, object_id, BLOB_PURPOSE)
    primitive = patient_primitive(patient, STREAM, create=True)
    sink = _Sink(destination)
    try:
        stream = primitive.new_encrypting_stream(sink, associated_data)
    except tink.TinkError as exc:
        raise CryptoError("Cannot open the encrypting stream.") from exc
    try:
        yield stream
    except BaseException:
        sink.abandon()
        with contextlib.suppress(Exception):
            stream.close()
        raise
    try:
        stream.close()  # writes the last segment, which marks the end of the blob
    except tink.TinkError as exc:
        raise CryptoError("Writing the encrypted stream failed.") from exc
    flush = getattr(destination, "flush", None)
    if flush is not None:
        flush()


class _DecryptingReader(io.RawIOBase):
    """Tink's decrypting stream, with its errors turned into ``DecryptionFailed``."""

    def __init__(self, inner: BinaryIO):
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("Read from a closed stream.")
        try:
            return self._inner.read(-1 if size is None else size)
        except tink.TinkError as exc:
            raise DecryptionFailed(
                "Cannot decrypt: file altered, truncated, or bound to another patient or document."
            ) from exc

    # Called with a bytearray or memoryview; typeshed's WriteableBuffer has no len or slicing.
    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                super().close()


def open_decrypting_stream(
    patient_id: PatientRef, object_id: ObjectId, source: IO[bytes]
) -> BinaryIO:
    """A readable binary stream giving back the plaintext of a blob read from ``source``.

    Read it with ``read(n)`` in chunks: each 1 MB segment is authenticated
    before any of its bytes are returned, and ``read`` raises
    ``DecryptionFailed`` on an altered, truncated or misplaced blob (possibly
    after earlier chunks were returned: do not act on a blob before reading it
    to the end). Closing the stream closes ``source``. Usable in ``with``.
    Raises ``KeysDestroyed`` after ``shred``.
    """
    patient = patient_uuid(patient_id)
    associated_data = associated_data_of(patient, object_id, BLOB_PURPOSE)
    primitive = patient_primitive(patient, STREAM, create=False)
    try:
        inner = primitive.new_decrypting_stream(source, associated_data)
    except tink.TinkError as exc:
        raise DecryptionFailed("Cannot decrypt: invalid file header.") from exc
    # A RawIOBase with read/readinto/close and ``with``: what readers of a BinaryIO use.
    return cast(BinaryIO, _DecryptingReader(inner))
