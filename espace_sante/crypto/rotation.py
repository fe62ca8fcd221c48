"""Rotation of the key-encryption key (KEK) and the operator's view of it (``keys`` command).

Only the wrapped keysets of ``PatientKeys`` change; the data keys, and so every
field ciphertext and blob, stay the same. The per-patient keys are in
``services.py``, the KEK file in ``kek.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tink
from django.db import connection, transaction
from django.db.models import Count

from . import kek as kek_file
from .errors import CryptoError
from .models import PatientKeys
from .services import WRAPPED_COLUMNS, forget_unwrapped_keys, keyset_associated_data, unwrap_keyset


@dataclass
class RotationReport:
    """What ``rotate_kek`` did."""

    primary_key_id: int
    new_key: bool  # False: resumed (or finished) an interrupted rotation
    rewrapped: int
    remaining: int  # live rows still wrapped by an old key; 0 once done
    removed_key_ids: tuple[int, ...] = ()


def _lock_keys_table() -> None:
    """Block new or re-wrapped keys until the transaction ends."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(PatientKeys._meta.db_table)
        with connection.cursor() as cursor:
            # The table name is ours, quoted; nothing comes from outside.
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")  # noqa: S608
    # SQLite: transactions start with BEGIN IMMEDIATE (settings), which already
    # excludes every other writer.


def _rewrap_batch(
    kek: kek_file.Kek, batch_size: int, after: uuid.UUID | None
) -> tuple[int, uuid.UUID | None]:
    """Re-wrap up to batch_size rows after `after` (pk order) in one transaction."""
    with transaction.atomic():
        rows = (
            PatientKeys.objects.select_for_update()
            .filter(destroyed_at__isnull=True)
            .exclude(kek_key_id=kek.primary_key_id)
            .order_by("pk")
        )
        if after is not None:
            rows = rows.filter(pk__gt=after)
        batch = list(rows[:batch_size])
        for row in batch:
            if row.kek_key_id not in kek.key_ids:
                raise CryptoError(
                    f"Les clés du patient {row.pk} sont protégées par la clé {row.kek_key_id}, "
                    "absente du fichier : restaurez-le avant la rotation."
                )
            for kind, column in WRAPPED_COLUMNS.items():
                ad = keyset_associated_data(row.pk, kind)
                keyset = unwrap_keyset(bytes(getattr(row, column)), kek, row.pk, kind)
                # Same keyset, same data keys: only its wrapping changes.
                setattr(
                    row, column, tink.proto_keyset_format.serialize_encrypted(keyset, kek.aead, ad)
                )
            row.kek_key_id = kek.primary_key_id
        PatientKeys.objects.bulk_update(batch, ["wrapped_aead", "wrapped_stream", "kek_key_id"])
    return len(batch), (batch[-1].pk if batch else after)


def rotate_kek(
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RotationReport:
    """Rotate the KEK: new primary key, re-wrap every patient's keysets, drop the old keys.

    Only the wrapped keysets change; blobs and field ciphertexts are never
    touched (the data keys stay the same). The keyset file is one state machine:

    - one key only: start a rotation. A new primary key is added and the file
      is replaced atomically *before* any row is re-wrapped, so a crash can
      never leave a row wrapped by a key that is not on disk;
    - several keys: a previous run was interrupted. Resume with the current
      primary instead of adding yet another key (which would only make the
      rows already re-wrapped do it again);
    - then rows whose ``kek_key_id`` differs from the primary are re-wrapped in
      batches of ``batch_size``, each in its own transaction, so stopping at
      any point loses nothing and the next run continues;
    - when no live row uses an old key any more, the old keys are removed from
      the file (under a table lock, so that no process can wrap new keys with
      them meanwhile).

    ``max_batches`` stops after that many batches (an operator spreading the
    work, or a test simulating an interruption); ``progress(done, total)`` is
    called after each batch. Runs under a file lock: one rotation at a time.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    with kek_file.rotation_lock():
        kek = kek_file.current()
        live = PatientKeys.objects.filter(destroyed_at__isnull=True)
        lost = live.exclude(kek_key_id__in=kek.key_ids).count()
        if lost:
            raise CryptoError(
                f"{lost} patient(s) ont des clés protégées par une clé absente du fichier "
                f"{kek.path} : restaurez-le avant toute rotation."
            )
        new_key = not kek.old_key_ids
        if new_key:
            kek = kek_file.add_primary_key()
        forget_unwrapped_keys()
        total = live.exclude(kek_key_id=kek.primary_key_id).count()
        done = batches = 0
        after: uuid.UUID | None = None
        while max_batches is None or batches < max_batches:
            count, last = _rewrap_batch(kek, batch_size, after)
            if count == 0:
                if after is None:
                    break  # a whole pass found nothing left
                after = None  # one more pass catches rows wrapped meanwhile by old keys
                continue
            after = last
            done += count
            batches += 1
            if progress is not None:
                progress(done, max(total, done))
        remaining = live.exclude(kek_key_id=kek.primary_key_id).count()
        removed: tuple[int, ...] = ()
        if remaining == 0:
            with transaction.atomic():
                _lock_keys_table()
                if not live.exclude(kek_key_id=kek.primary_key_id).exists():
                    removed = kek_file.remove_old_keys()
            remaining = live.exclude(kek_key_id=kek.primary_key_id).count()
    return RotationReport(
        primary_key_id=kek.primary_key_id,
        new_key=new_key,
        rewrapped=done,
        remaining=remaining,
        removed_key_ids=removed,
    )


@dataclass
class KekStatus:
    """The KEK keyset and how many patients each of its keys protects."""

    path: Path
    primary_key_id: int
    patients_by_key: dict[int, int]  # every key of the file, 0 if unused
    missing_keys: dict[int, int] = field(default_factory=dict)  # used but absent: restore!
    destroyed: int = 0


def kek_status() -> KekStatus:
    """Describe the KEK keyset file and count the live patients wrapped by each key."""
    kek = kek_file.current(create=False)
    counts = dict(
        PatientKeys.objects.filter(destroyed_at__isnull=True)
        .values("kek_key_id")
        .annotate(patients=Count("pk"))
        .order_by()
        .values_list("kek_key_id", "patients")
    )
    return KekStatus(
        path=kek.path,
        primary_key_id=kek.primary_key_id,
        patients_by_key={key_id: counts.pop(key_id, 0) for key_id in kek.key_ids},
        missing_keys=counts,
        destroyed=PatientKeys.objects.filter(destroyed_at__isnull=False).count(),
    )
