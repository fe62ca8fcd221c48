"""Short fields: AEAD round trips, bound to patient, object and purpose."""

import threading
import uuid

import pytest
from django.db import connection

from espace_sante.crypto import services
from espace_sante.crypto.models import PatientKeys
from espace_sante.crypto.services import CryptoError, DecryptionFailed


def test_bytes_and_text_round_trip(make_patient):
    patient = make_patient()
    document = uuid.uuid4()
    secret = "Allergie à la pénicilline — œdème de Quincke 🩺"

    ciphertext = services.encrypt(patient.id, document, b"\x00\x01 binary", purpose="note")
    text_ciphertext = services.encrypt_text(patient.id, document, secret, purpose="title")

    assert services.decrypt(patient.id, document, ciphertext, purpose="note") == b"\x00\x01 binary"
    assert services.decrypt_text(patient.id, document, text_ciphertext, purpose="title") == secret
    assert secret.encode() not in text_ciphertext
    empty = services.encrypt_text(patient.id, document, "")
    assert services.decrypt_text(patient.id, document, empty) == ""


def test_every_encryption_is_different_and_a_memoryview_decrypts(make_patient):
    patient = make_patient()
    first = services.encrypt(patient.id, "profile", b"A+")
    second = services.encrypt(patient.id, "profile", b"A+")
    assert first != second  # random nonce
    assert services.decrypt(patient.id, "profile", memoryview(second)) == b"A+"


def test_uuid_and_string_ids_bind_the_same(make_patient):
    patient = make_patient()
    document = uuid.uuid4()
    ciphertext = services.encrypt(patient, document, b"x")
    assert services.decrypt(str(patient.id), str(document).upper(), ciphertext) == b"x"
    assert services.decrypt(patient.id.hex, document.hex, ciphertext) == b"x"


def test_a_ciphertext_moved_elsewhere_does_not_decrypt(make_patient):
    patient, other = make_patient("Alice"), make_patient("Bob")
    services.ensure_keys(other)
    document = uuid.uuid4()
    ciphertext = services.encrypt(patient.id, document, b"diabete type 2", purpose="note")

    with pytest.raises(DecryptionFailed):
        services.decrypt(other.id, document, ciphertext, purpose="note")
    with pytest.raises(DecryptionFailed):
        services.decrypt(patient.id, uuid.uuid4(), ciphertext, purpose="note")
    with pytest.raises(DecryptionFailed):
        services.decrypt(patient.id, document, ciphertext, purpose="title")
    with pytest.raises(DecryptionFailed):
        services.decrypt(patient.id, document, ciphertext)
    assert services.decrypt(patient.id, document, ciphertext, purpose="note") == b"diabete type 2"


def test_one_flipped_byte_is_detected(make_patient):
    patient = make_patient()
    ciphertext = bytearray(services.encrypt(patient.id, 7, b"tension 12/8"))
    for position in (0, 5, len(ciphertext) // 2, len(ciphertext) - 1):
        tampered = bytearray(ciphertext)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionFailed):
            services.decrypt(patient.id, 7, bytes(tampered))
    with pytest.raises(DecryptionFailed):
        services.decrypt(patient.id, 7, b"")


def test_a_patient_without_keys_decrypts_nothing(make_patient):
    patient, other = make_patient("Alice"), make_patient("Bob")
    ciphertext = services.encrypt(patient.id, "x", b"secret")
    assert not PatientKeys.objects.filter(pk=other.id).exists()
    with pytest.raises(DecryptionFailed):
        services.decrypt(other.id, "x", ciphertext)
    assert not PatientKeys.objects.filter(pk=other.id).exists()  # decrypt creates nothing


def test_the_separator_cannot_appear_in_object_or_purpose(make_patient):
    patient = make_patient()
    with pytest.raises(ValueError):
        services.encrypt(patient.id, "a|b", b"x")
    with pytest.raises(ValueError):
        services.encrypt(patient.id, "a", b"x", purpose="b|")
    with pytest.raises(ValueError):
        services.encrypt(patient.id, "", b"x")
    with pytest.raises(TypeError):
        services.encrypt(patient.id, "a", "du texte")  # type: ignore[arg-type]


def test_ensure_keys_is_idempotent_and_encrypt_creates_keys(make_patient):
    patient = make_patient()
    services.ensure_keys(patient)
    row = PatientKeys.objects.get(pk=patient.id)
    services.ensure_keys(patient)
    services.ensure_keys(str(patient.id))
    assert PatientKeys.objects.count() == 1
    assert bytes(PatientKeys.objects.get(pk=patient.id).wrapped_aead) == bytes(row.wrapped_aead)

    lazy = make_patient("Bob")
    services.encrypt(lazy.id, "x", b"y")
    assert PatientKeys.objects.filter(pk=lazy.id, destroyed_at=None).exists()


def test_keys_are_not_created_for_an_unknown_person(db):
    with pytest.raises(CryptoError):
        services.ensure_keys(uuid.uuid4())
    assert PatientKeys.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_ensure_keys_create_one_row(make_patient):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's in-memory test database is not shared safely between threads")
    patient = make_patient()
    barrier = threading.Barrier(6)
    ciphertexts, errors = [], []

    def worker(index):
        try:
            barrier.wait()
            services.ensure_keys(patient.id)
            ciphertexts.append(services.encrypt(patient.id, "x", str(index).encode()))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert PatientKeys.objects.filter(pk=patient.id).count() == 1
    assert sorted(services.decrypt(patient.id, "x", c) for c in ciphertexts) == [
        str(i).encode() for i in range(6)
    ]


def test_a_key_scope_reads_the_key_row_once_and_still_sees_a_shred(
    make_patient, django_assert_num_queries
):
    patient = make_patient()
    ciphertexts = [services.encrypt_text(patient.id, f"entry-{i}", f"note {i}") for i in range(30)]
    with services.key_scope():
        with django_assert_num_queries(1):
            texts = [
                services.decrypt_text(patient.id, f"entry-{i}", c)
                for i, c in enumerate(ciphertexts)
            ]
        assert texts == [f"note {i}" for i in range(30)]
        services.shred(patient)
        with pytest.raises(CryptoError):
            services.decrypt_text(patient.id, "entry-0", ciphertexts[0])
