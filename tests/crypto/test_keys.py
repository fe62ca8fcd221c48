"""The KEK file, what is stored (never a key in clear), and crypto-shredding."""

import io
import json
import os
import stat
from base64 import b64encode

import pytest
from django.db import connection
from django.utils import timezone

from espace_sante.crypto import kek, services, streams
from espace_sante.crypto.models import PatientKeys
from espace_sante.crypto.services import CryptoError, KeysDestroyed

from .conftest import kek_key_bytes, patient_key_bytes
from .test_streams import decrypt_blob, encrypt_blob


def test_the_kek_file_is_created_on_first_use_private(make_patient, kek_path):
    assert not kek_path.exists()
    services.ensure_keys(make_patient())
    assert stat.S_IMODE(kek_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(kek_path.parent.stat().st_mode) == 0o700
    keyset = json.loads(kek_path.read_text())
    assert [key["keyData"]["typeUrl"] for key in keyset["key"]] == [
        "type.googleapis.com/google.crypto.tink.AesGcmKey"
    ]
    assert PatientKeys.objects.get().kek_key_id == keyset["primaryKeyId"]
    assert [p.name for p in kek_path.parent.iterdir()] == ["kek.json"]  # no temporary left


def test_an_existing_kek_file_is_used_not_replaced(make_patient, kek_path):
    services.ensure_keys(make_patient())
    before = kek_path.read_bytes()
    kek.forget()
    services.ensure_keys(make_patient("Bob"))
    assert kek_path.read_bytes() == before


def test_a_missing_kek_is_not_recreated_while_patients_have_keys(make_patient, kek_path):
    patient = make_patient()
    ciphertext = services.encrypt(patient.id, "x", b"y")
    kek_path.rename(kek_path.with_name("elsewhere.json"))
    services._cache.clear()
    with pytest.raises(CryptoError, match="introuvable"):
        services.decrypt(patient.id, "x", ciphertext)
    assert not kek_path.exists()
    kek_path.with_name("elsewhere.json").rename(kek_path)
    assert services.decrypt(patient.id, "x", ciphertext) == b"y"


def test_no_key_is_ever_stored_in_clear(make_patient, kek_path):
    patient = make_patient()
    services.encrypt(patient.id, "x", b"y")
    encrypt_blob(patient.id, "doc", b"z" * 1000)
    row = PatientKeys.objects.get(pk=patient.id)
    data_keys = patient_key_bytes(patient.id, row.wrapped_aead, row.wrapped_stream)
    master_keys = kek_key_bytes(kek_path)
    assert len(data_keys) == 2 and all(len(key) == 32 for key in data_keys)
    assert len(master_keys) == 1 and len(master_keys[0]) == 32

    # What the database holds, read back raw.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT wrapped_aead, wrapped_stream FROM {PatientKeys._meta.db_table}"  # noqa: S608
        )
        stored = [bytes(value) for record in cursor.fetchall() for value in record]
    for key in data_keys + master_keys:
        for blob in stored:
            assert key not in blob
            assert b64encode(key) not in blob
    # The KEK file holds the KEK (by design) but never a patient's key.
    on_disk = kek_path.read_bytes()
    for key in data_keys:
        assert key not in on_disk
        assert b64encode(key)[:40] not in on_disk


def test_shred_makes_every_ciphertext_of_the_patient_unreadable(make_patient):
    patient, other = make_patient("Alice"), make_patient("Bob")
    field = services.encrypt_text(patient.id, "note", "VIH positif", purpose="text")
    blob = encrypt_blob(patient.id, "scan", os.urandom(200_000))
    other_field = services.encrypt_text(other.id, "note", "RAS", purpose="text")
    other_blob = encrypt_blob(other.id, "scan", b"radio" * 1000)
    assert services.decrypt_text(patient.id, "note", field, purpose="text") == "VIH positif"

    services.shred(patient)

    row = PatientKeys.objects.get(pk=patient.id)
    assert bytes(row.wrapped_aead) == b"" and bytes(row.wrapped_stream) == b""
    assert row.destroyed_at is not None
    with pytest.raises(KeysDestroyed):
        services.decrypt_text(patient.id, "note", field, purpose="text")
    with pytest.raises(KeysDestroyed):
        decrypt_blob(patient.id, "scan", blob)
    with pytest.raises(KeysDestroyed):
        services.encrypt(patient.id, "new", b"x")
    with pytest.raises(KeysDestroyed):
        with streams.open_encrypting_stream(patient.id, "new", io.BytesIO()):
            pass
    with pytest.raises(KeysDestroyed):
        services.ensure_keys(patient)
    assert issubclass(KeysDestroyed, CryptoError)

    assert services.decrypt_text(other.id, "note", other_field, purpose="text") == "RAS"
    assert decrypt_blob(other.id, "scan", other_blob) == b"radio" * 1000

    services.shred(patient)  # idempotent
    assert PatientKeys.objects.get(pk=patient.id).destroyed_at == row.destroyed_at


def test_a_shred_by_another_process_is_seen_despite_the_key_cache(make_patient):
    patient = make_patient()
    field = services.encrypt(patient.id, "x", b"secret")
    assert services.decrypt(patient.id, "x", field) == b"secret"  # primitive now cached
    # What shred() does, as seen from a process whose cache still holds the key.
    PatientKeys.objects.filter(pk=patient.id).update(
        wrapped_aead=b"", wrapped_stream=b"", destroyed_at=timezone.now()
    )
    with pytest.raises(KeysDestroyed):
        services.decrypt(patient.id, "x", field)


def test_shredding_a_patient_without_keys_forbids_future_keys(make_patient):
    patient = make_patient()
    services.shred(patient.id)
    with pytest.raises(KeysDestroyed):
        services.encrypt(patient.id, "x", b"y")
    assert PatientKeys.objects.get(pk=patient.id).destroyed_at is not None
