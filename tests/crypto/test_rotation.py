"""KEK rotation: data stays readable and untouched, interruptions resume, old keys go."""

import hashlib
import io
import json
import stat
import uuid

import pytest
from django.core.management import call_command

from espace_sante.crypto import kek, rotation, services
from espace_sante.crypto.models import PatientKeys
from espace_sante.crypto.services import CryptoError

from .test_streams import decrypt_blob, encrypt_blob


def key_ids(path):
    keyset = json.loads(path.read_text())
    return keyset["primaryKeyId"], sorted(key["keyId"] for key in keyset["key"])


@pytest.fixture
def records(make_patient, tmp_path):
    """Five patients, each with an encrypted field and an encrypted blob on disk."""
    made = []
    for index in range(5):
        patient = make_patient(f"Patient{index}")
        document = uuid.uuid4()
        text = f"observation n°{index}"
        field = services.encrypt_text(patient.id, document, text, purpose="note")
        blob_path = tmp_path / f"{document}.bin"
        blob_plain = f"blob {index} ".encode() * 50_000
        blob_path.write_bytes(encrypt_blob(patient.id, document, blob_plain))
        made.append((patient.id, document, text, field, blob_path, blob_plain))
    return made


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_all_readable(records):
    for patient_id, document, text, field, blob_path, blob_plain in records:
        assert services.decrypt_text(patient_id, document, field, purpose="note") == text
        assert decrypt_blob(patient_id, document, blob_path.read_bytes()) == blob_plain


def test_rotation_rewraps_keys_only_and_drops_the_old_key(records, kek_path):
    old_primary, _ = key_ids(kek_path)
    wrapped_before = {row.pk: bytes(row.wrapped_aead) for row in PatientKeys.objects.all()}
    blobs_before = {r[4]: digest(r[4]) for r in records}
    progress = []

    report = rotation.rotate_kek(batch_size=2, progress=lambda *p: progress.append(p))

    primary, ids = key_ids(kek_path)
    assert report.new_key and report.primary_key_id == primary != old_primary
    assert ids == [primary]  # the old key is gone from the file
    assert report.removed_key_ids == (old_primary,)
    assert (report.rewrapped, report.remaining) == (5, 0)
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert set(PatientKeys.objects.values_list("kek_key_id", flat=True)) == {primary}
    for row in PatientKeys.objects.all():
        assert bytes(row.wrapped_aead) != wrapped_before[row.pk]
    # Blobs are never touched, and the field ciphertexts taken before still decrypt.
    assert {r[4]: digest(r[4]) for r in records} == blobs_before
    assert_all_readable(records)
    assert stat.S_IMODE(kek_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in kek_path.parent.iterdir()) == ["kek.json", "kek.json.lock"]


def test_an_interrupted_rotation_resumes_without_adding_a_key(records, make_patient, kek_path):
    old_primary, _ = key_ids(kek_path)

    first = rotation.rotate_kek(batch_size=2, max_batches=1)  # "interrupted" after one batch
    primary, ids = key_ids(kek_path)
    assert first.new_key and (first.rewrapped, first.remaining) == (2, 3)
    assert ids == sorted([old_primary, primary])  # the old key is kept: 3 rows still need it
    assert_all_readable(records)  # mixed state: everything still decrypts
    # A patient enrolled mid-rotation is wrapped by the new primary.
    newcomer = make_patient("Nouveau")
    services.ensure_keys(newcomer)
    assert PatientKeys.objects.get(pk=newcomer.id).kek_key_id == primary

    second = rotation.rotate_kek(batch_size=2, max_batches=1)
    assert not second.new_key and second.primary_key_id == primary
    assert (second.rewrapped, second.remaining) == (2, 1)
    assert key_ids(kek_path) == (primary, sorted([old_primary, primary]))

    last = rotation.rotate_kek(batch_size=2)
    assert not last.new_key and last.primary_key_id == primary
    assert (last.rewrapped, last.remaining, last.removed_key_ids) == (1, 0, (old_primary,))
    assert key_ids(kek_path) == (primary, [primary])
    assert_all_readable(records)


def test_a_rotation_stopped_before_dropping_old_keys_just_finishes(records, make_patient, kek_path):
    old_primary, _ = key_ids(kek_path)
    rotation.rotate_kek(max_batches=0)  # new key written, nothing re-wrapped yet
    primary, _ = key_ids(kek_path)
    newcomer = make_patient("Nouveau")
    services.ensure_keys(newcomer)
    assert PatientKeys.objects.get(pk=newcomer.id).kek_key_id == primary
    for patient_id, *_ in records:  # every old-key patient leaves
        services.shred(patient_id)

    report = rotation.rotate_kek()
    assert not report.new_key and report.rewrapped == 0
    assert report.removed_key_ids == (old_primary,)
    assert key_ids(kek_path) == (primary, [primary])


def test_restoring_an_old_kek_file_is_refused(records, kek_path):
    old_file = kek_path.read_bytes()
    rotation.rotate_kek()
    kek_path.write_bytes(old_file)  # an operator restores yesterday's backup
    services._cache.clear()
    with pytest.raises(CryptoError, match="absente du fichier"):
        rotation.rotate_kek()
    status = rotation.kek_status()
    assert status.missing_keys and sum(status.missing_keys.values()) == 5
    with pytest.raises(CryptoError):
        services.decrypt_text(records[0][0], records[0][1], records[0][3], purpose="note")


def test_keys_command_prints_status_and_progress(records, kek_path):
    services.shred(records[0][0])
    out = io.StringIO()
    call_command("keys", "status", stdout=out)
    primary, _ = key_ids(kek_path)
    assert f"clé {primary} (principale) : 4 patient(s)" in out.getvalue()
    assert "Clés détruites (dossiers clos) : 1" in out.getvalue()

    out = io.StringIO()
    call_command("keys", "rotate", "--batch-size", "3", "--max-batches", "1", stdout=out)
    assert "ré-emballées : 3 / 4" in out.getvalue()
    assert "Il reste 1 patient(s)" in out.getvalue()

    out = io.StringIO()
    call_command("keys", "status", stdout=out)
    assert "(ancienne) : 1 patient(s)" in out.getvalue()
    assert "Rotation inachevée" in out.getvalue()

    out = io.StringIO()
    call_command("keys", "rotate", stdout=out)
    assert "Reprise de la rotation" in out.getvalue()
    assert f"clés supprimées : {primary}" in out.getvalue()
    kek.forget()
    assert_all_readable(records[1:])
