"""Envelope encryption of health data: each patient's data under the patient's own keys.

Architecture rule 4, "the host cannot read". Every patient has two Tink keysets
(``PatientKeys``): an AEAD (AES256_GCM) for short fields and a streaming AEAD
(AES256_GCM_HKDF_1MB) for blobs. Both are stored only encrypted ("wrapped") by
the key-encryption key (KEK, see ``kek.py``). Every ciphertext is bound by its
associated data to the patient, the object and the purpose, so a ciphertext
copied to another row, patient or column does not decrypt.

Destroying the two wrapped keysets (``shred``) makes every ciphertext of that
patient unrecoverable.

This module holds the patient's keys and the fields encrypted with them:
``ensure_keys``, ``shred``, ``renew_after_shred``, ``key_scope``,
``encrypt``/``decrypt`` and ``encrypt_text``/``decrypt_text``. Blobs are
encrypted by ``streams.py`` (stored by ``blobs.py``); the ``keys`` command
rotates the KEK with ``rotation.py``. Both use the key internals exported
below (``patient_primitive``, ``unwrap_keyset``…), never the key rows
themselves.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

import tink
from django.db import transaction
from django.utils import timezone
from tink import aead, streaming_aead

from . import kek as kek_file
from .errors import CryptoError, DecryptionFailed, KeysDestroyed
from .models import PatientKeys

__all__ = [
    "CryptoError",
    "DecryptionFailed",
    "KeysDestroyed",
    "decrypt",
    "decrypt_text",
    "encrypt",
    "encrypt_text",
    "ensure_keys",
    "key_scope",
    "renew_after_shred",
    "shred",
]

aead.register()
streaming_aead.register()

FIELD_TEMPLATE = aead.aead_key_templates.AES256_GCM
STREAM_TEMPLATE = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB
# Versioned, so that a future format can coexist with this one.
_AD_PREFIX = "espace-sante|v1"
_WRAP_AD_PREFIX = "espace-sante|keyset|v1"
AEAD = "aead"
STREAM = "stream"
WRAPPED_COLUMNS = {AEAD: "wrapped_aead", STREAM: "wrapped_stream"}
_PRIMITIVES = {AEAD: aead.Aead, STREAM: streaming_aead.StreamingAead}

PatientRef = Any  # a Person, or its id as UUID or str
ObjectId = uuid.UUID | str | int
# Tink ships no type hints: its AEAD / StreamingAead primitives and keyset
# handles are untyped (Any) here.
Primitive = Any
# (patient, kind, KEK key id) of a cached primitive.
_CacheKey = tuple[uuid.UUID, str, int]
# (wrapped_aead, wrapped_stream, kek_key_id, destroyed_at) of a PatientKeys row.
_KeyRow = tuple[bytes | memoryview, bytes | memoryview, int, datetime | None]


# --- Identifiers and associated data ---------------------------------------


def patient_uuid(patient: PatientRef) -> uuid.UUID:
    """The patient's UUID, from a Person, a UUID or its string."""
    value = getattr(patient, "pk", patient)
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ValueError(f"Invalid patient id: {value!r}") from exc


def _object_key(object_id: ObjectId) -> str:
    """The object id as it enters the associated data (UUIDs in canonical form)."""
    if isinstance(object_id, uuid.UUID):
        return str(object_id)
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        return str(object_id)
    if not isinstance(object_id, str):
        raise TypeError(f"Object id expected (UUID or str), got {type(object_id)!r}")
    try:
        # A UUID given as a string (any spelling) binds like the UUID itself.
        return str(uuid.UUID(object_id))
    except ValueError:
        pass
    _check_component(object_id, "the object id")
    return object_id


def _check_component(value: str, what: str) -> None:
    """Refuse the separator inside a field of the associated data."""
    # "|" separates the fields of the associated data; allowing it would let
    # (object "a|b", purpose "") and (object "a", purpose "b") collide.
    if "|" in value:
        raise ValueError(f"'|' is not allowed in {what}: {value!r}")


def associated_data_of(patient: uuid.UUID, object_id: ObjectId, purpose: str) -> bytes:
    """b"espace-sante|v1|<patient uuid>|<object id>|<purpose>"."""
    object_key = _object_key(object_id)
    if not object_key:
        raise ValueError("The object id is empty.")
    _check_component(purpose, "the purpose")
    return f"{_AD_PREFIX}|{patient}|{object_key}|{purpose}".encode()


def keyset_associated_data(patient: uuid.UUID, kind: str) -> bytes:
    """Associated data of a wrapped keyset: b"espace-sante|keyset|v1|<patient uuid>|<kind>"."""
    # The patient id binds a wrapped keyset to its row; the kind keeps the two
    # keysets of one patient from being swapped.
    return f"{_WRAP_AD_PREFIX}|{patient}|{kind}".encode()


# --- Unwrapped keys: a small per-process cache -----------------------------


class _PrimitiveCache:
    """LRU of unwrapped primitives, keyed by (patient, kind, KEK key id).

    Unwrapping costs a KEK decryption plus parsing a keyset (tens of µs, see
    bench/crypto.py). An entry is used only if the wrapped bytes read from the
    database are the same as when it was built, and every call first reads the
    row, so a shred or a rotation done by another process is always seen.
    """

    def __init__(self, max_size: int = 256):
        self.max_size = max_size
        self._entries: OrderedDict[_CacheKey, tuple[bytes, Primitive]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _CacheKey, wrapped: bytes) -> Primitive | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != wrapped:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: _CacheKey, wrapped: bytes, primitive: Primitive) -> None:
        if self.max_size <= 0:
            return
        with self._lock:
            self._entries[key] = (wrapped, primitive)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def forget_patient(self, patient: uuid.UUID) -> None:
        with self._lock:
            for key in [key for key in self._entries if key[0] == patient]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _PrimitiveCache()


def forget_unwrapped_keys() -> None:
    """Empty this process's cache of unwrapped keys (a KEK rotation starts)."""
    _cache.clear()


# Keys already read in the current scope (one web request, see
# crypto/middleware.py): a page decrypting 50 fields of one patient reads the
# key row once instead of 50 times. Outside a scope every call reads the row.
# Keyed by (patient, kind) for a primitive, (patient, _ROW) for the key row.
_scope: contextvars.ContextVar[dict[tuple[uuid.UUID, str], Any] | None] = contextvars.ContextVar(
    "espace_sante_key_scope", default=None
)


@contextlib.contextmanager
def key_scope() -> Iterator[None]:
    """Within this block each patient's key row is read from the database once.

    Meant for one request or one batch: a shred done by *another* process
    during the block is seen at the next block; a shred done inside the block
    is seen at once.
    """
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def unwrap_keyset(
    wrapped: bytes, kek: kek_file.Kek, patient: uuid.UUID, kind: str
) -> tink.KeysetHandle:
    """Decrypt a wrapped keyset with the KEK; the keyset handle."""
    try:
        return tink.proto_keyset_format.parse_encrypted(
            wrapped, kek.aead, keyset_associated_data(patient, kind)
        )
    except tink.TinkError as exc:
        raise CryptoError(
            f"The keys of patient {patient} do not decrypt with the key-encryption key."
        ) from exc


def patient_primitive(patient: uuid.UUID, kind: str, *, create: bool) -> Primitive:
    """The patient's unwrapped AEAD or StreamingAead primitive."""
    held = _scope.get()
    if held is not None and (patient, kind) in held:
        return held[(patient, kind)]
    primitive = _read_primitive(patient, kind, create=create)
    if held is not None:
        held[(patient, kind)] = primitive
    return primitive


_ROW = "row"  # the key row itself, in a scope: both keysets come from one read
_ROW_FIELDS = ("wrapped_aead", "wrapped_stream", "kek_key_id", "destroyed_at")


def _key_row(patient: uuid.UUID) -> _KeyRow | None:
    """(wrapped_aead, wrapped_stream, kek_key_id, destroyed_at), or None; read once in a scope."""
    held = _scope.get()
    if held is not None and (patient, _ROW) in held:
        return cast(_KeyRow, held[(patient, _ROW)])
    row: _KeyRow | None = next(
        iter(PatientKeys.objects.filter(pk=patient).values_list(*_ROW_FIELDS)), None
    )
    if held is not None and row is not None:
        held[(patient, _ROW)] = row
    return row


def _read_primitive(patient: uuid.UUID, kind: str, *, create: bool) -> Primitive:
    # Read on every call outside a scope: that is how a shred by another process
    # is seen at once.
    row = _key_row(patient)
    if row is None:
        if not create:
            raise DecryptionFailed("No keys for this patient: nothing was encrypted for them.")
        _create_keys(patient)
        # _create_keys inserted the row or raised.
        row = cast(_KeyRow, _key_row(patient))
    wrapped_aead, wrapped_stream, kek_key_id, destroyed_at = row
    wrapped = wrapped_aead if kind == AEAD else wrapped_stream
    if destroyed_at is not None:
        raise KeysDestroyed(f"This patient's keys were destroyed on {destroyed_at:%Y-%m-%d}.")
    wrapped = bytes(wrapped)  # memoryview on PostgreSQL
    cache_key = (patient, kind, kek_key_id)
    if (primitive := _cache.get(cache_key, wrapped)) is not None:
        return primitive
    kek = kek_file.current()
    if kek_key_id not in kek.key_ids:
        raise CryptoError(
            f"Key {kek_key_id}, which wraps this patient's keys, is no longer in the "
            f"key-encryption keyset file {kek.path}."
        )
    primitive = unwrap_keyset(wrapped, kek, patient, kind).primitive(_PRIMITIVES[kind])
    _cache.put(cache_key, wrapped, primitive)
    return primitive


# --- Keys -----------------------------------------------------------------


class _KekChanged(Exception):
    """The KEK key used to wrap new keys vanished before the insert committed."""


def _new_wrapped_keys(patient: uuid.UUID, kek: kek_file.Kek) -> dict[str, bytes | int]:
    """Generate the patient's two keysets, wrapped by the KEK primary: PatientKeys fields."""
    wrapped: dict[str, bytes | int] = {}
    for kind, template in ((AEAD, FIELD_TEMPLATE), (STREAM, STREAM_TEMPLATE)):
        keyset = tink.new_keyset_handle(template)
        wrapped[WRAPPED_COLUMNS[kind]] = tink.proto_keyset_format.serialize_encrypted(
            keyset, kek.aead, keyset_associated_data(patient, kind)
        )
    wrapped["kek_key_id"] = kek.primary_key_id
    return wrapped


def _create_keys(patient: uuid.UUID) -> None:
    """Insert the patient's keys once (see ensure_keys)."""
    from espace_sante.identity.models import Person

    for _attempt in range(3):
        try:
            with transaction.atomic():
                # Checked here: the foreign key is only enforced at commit.
                if not Person.objects.filter(pk=patient).exists():
                    raise CryptoError(f"No person {patient}: cannot create their keys.")
                kek = kek_file.current()
                row, created = PatientKeys.objects.get_or_create(
                    patient_id=patient, defaults=_new_wrapped_keys(patient, kek)
                )
                if not created:
                    if row.destroyed_at is not None:
                        raise KeysDestroyed("This patient's keys were destroyed.")
                    return
                # The end of a rotation removes old KEK keys while it holds a lock
                # on this table, so our insert waited for it: if the key we used
                # has just gone, roll back and wrap again with the new primary.
                if row.kek_key_id not in kek_file.current().key_ids:
                    raise _KekChanged
                return
        except _KekChanged:
            continue
    raise CryptoError("The key-encryption key keeps changing: try again.")


def ensure_keys(patient: PatientRef) -> None:
    """Create the patient's two keysets if they do not exist yet.

    Idempotent and safe when called concurrently (one row per patient,
    ``get_or_create`` inside a transaction). ``encrypt`` and
    ``open_encrypting_stream`` call it themselves when needed; call it at
    enrolment to fail early. Raises ``KeysDestroyed`` after ``shred``: a closed
    record never gets new keys.
    """
    patient_id = patient_uuid(patient)
    row = _key_row(patient_id)  # in a request, the row the encryption then uses
    if row is not None:
        if row[3] is not None:
            raise KeysDestroyed("This patient's keys were destroyed.")
        return
    _create_keys(patient_id)


def renew_after_shred(patient: PatientRef) -> None:
    """New keys for a space reopened after its data were deleted (lifecycle.md).

    Only for a patient whose keys were shredded and whose data were purged:
    the new keys decrypt nothing of the past (those keys are gone for good).
    Does nothing when the patient's keys were never destroyed.
    """
    patient_id = patient_uuid(patient)
    with transaction.atomic():
        deleted, _ = PatientKeys.objects.filter(pk=patient_id, destroyed_at__isnull=False).delete()
    _cache.forget_patient(patient_id)
    _forget_in_scope(patient_id)
    if deleted:
        _create_keys(patient_id)


def shred(patient: PatientRef) -> None:
    """Crypto-shredding: destroy the patient's keys so nothing of theirs decrypts again.

    Both wrapped keysets are replaced by b"" and ``destroyed_at`` is set; from
    then on every encrypt/decrypt for this patient raises ``KeysDestroyed``,
    and ``ensure_keys`` will not create new ones. A patient who never had keys
    gets a destroyed row too. Idempotent.

    Old copies of the wrapped keysets may survive in backups, WAL or dead
    database pages; they are encrypted with the KEK, so the next KEK rotation
    (which removes the old KEK keys) makes them useless as well.
    """
    patient_id = patient_uuid(patient)
    now = timezone.now()
    with transaction.atomic():
        # Locked so that a rotation batch cannot write re-wrapped keys back.
        row = PatientKeys.objects.select_for_update().filter(pk=patient_id).first()
        if row is None:
            PatientKeys.objects.create(
                patient_id=patient_id,
                wrapped_aead=b"",
                wrapped_stream=b"",
                kek_key_id=0,
                destroyed_at=now,
            )
        elif row.destroyed_at is None:
            row.wrapped_aead = b""
            row.wrapped_stream = b""
            row.destroyed_at = now
            row.save(update_fields=["wrapped_aead", "wrapped_stream", "destroyed_at"])
    _cache.forget_patient(patient_id)
    _forget_in_scope(patient_id)


def _forget_in_scope(patient_id: uuid.UUID) -> None:
    """The key row and primitives read in this scope are out of date."""
    held = _scope.get()
    if held is not None:
        for key in [key for key in held if key[0] == patient_id]:
            del held[key]


# --- Fields ----------------------------------------------------------------


def encrypt(
    patient_id: PatientRef, object_id: ObjectId, plaintext: bytes, *, purpose: str = ""
) -> bytes:
    """Encrypt bytes with the patient's AEAD key (AES256_GCM).

    The ciphertext is bound to (patient, object, purpose): it decrypts only with
    the same three values. ``object_id`` is the id of the row holding it (UUID,
    str or int; a UUID and its string form are the same); ``purpose`` names the
    field (e.g. "note"), so two fields of one row cannot be swapped. Neither may
    contain "|". Creates the patient's keys if needed; raises ``KeysDestroyed``
    after ``shred``.
    """
    if not isinstance(plaintext, bytes | bytearray | memoryview):
        raise TypeError("encrypt() encrypts bytes; for text, use encrypt_text().")
    patient = patient_uuid(patient_id)
    associated_data = associated_data_of(patient, object_id, purpose)
    ciphertext: bytes = patient_primitive(patient, AEAD, create=True).encrypt(
        bytes(plaintext), associated_data
    )
    return ciphertext


def decrypt(
    patient_id: PatientRef, object_id: ObjectId, ciphertext: bytes, *, purpose: str = ""
) -> bytes:
    """Decrypt what ``encrypt`` returned for the same patient, object and purpose.

    Accepts bytes or a memoryview (what a BinaryField gives on PostgreSQL).
    Raises ``DecryptionFailed`` if the ciphertext was altered or belongs to
    another patient, object or purpose, ``KeysDestroyed`` after ``shred``.
    """
    if not isinstance(ciphertext, bytes | bytearray | memoryview):
        raise TypeError("decrypt() expects encrypted bytes.")
    patient = patient_uuid(patient_id)
    associated_data = associated_data_of(patient, object_id, purpose)
    primitive = patient_primitive(patient, AEAD, create=False)
    try:
        plaintext: bytes = primitive.decrypt(bytes(ciphertext), associated_data)
        return plaintext
    except tink.TinkError as exc:
        raise DecryptionFailed(
            "Cannot decrypt: data altered, or bound to another patient, object or purpose."
        ) from exc


def encrypt_text(
    patient_id: PatientRef, object_id: ObjectId, text: str, *, purpose: str = ""
) -> bytes:
    """``encrypt`` for a str (UTF-8). Encrypt "" too: see ``decrypt_text``."""
    if not isinstance(text, str):
        raise TypeError("encrypt_text() encrypts text (str).")
    return encrypt(patient_id, object_id, text.encode("utf-8"), purpose=purpose)


def decrypt_text(
    patient_id: PatientRef, object_id: ObjectId, ciphertext: bytes, *, purpose: str = ""
) -> str:
    """``decrypt`` for what ``encrypt_text`` returned; gives back the str.

    No shortcut for b"" or None: an emptied column would otherwise read as an
    empty note and a tampering would go unnoticed. Store ``encrypt_text("")``
    for an empty field, and test for None yourself if the column is nullable.
    """
    return decrypt(patient_id, object_id, ciphertext, purpose=purpose).decode("utf-8")
