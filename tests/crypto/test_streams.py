"""Blobs: streaming AEAD round trips, tampering and truncation detected on read."""

import io
import os
import uuid

import pytest

from espace_sante.crypto import services, streams
from espace_sante.crypto.services import DecryptionFailed

MB = 1024 * 1024


def encrypt_blob(patient_id, object_id, plaintext: bytes, chunk: int = 100_000) -> bytes:
    destination = io.BytesIO()
    with streams.open_encrypting_stream(patient_id, object_id, destination) as stream:
        for start in range(0, len(plaintext), chunk):
            stream.write(plaintext[start : start + chunk])
    return destination.getvalue()


def decrypt_blob(patient_id, object_id, ciphertext: bytes, chunk: int = 64 * 1024) -> bytes:
    parts = []
    with streams.open_decrypting_stream(patient_id, object_id, io.BytesIO(ciphertext)) as stream:
        while data := stream.read(chunk):
            assert len(data) <= chunk
            parts.append(data)
    return b"".join(parts)


def test_a_multi_megabyte_blob_round_trips_through_files(make_patient, tmp_path):
    patient = make_patient()
    document = uuid.uuid4()
    plaintext = os.urandom(5 * MB + 12345)  # several 1 MB segments, the last one partial
    (tmp_path / "plain").write_bytes(plaintext)

    with open(tmp_path / "plain", "rb") as source, open(tmp_path / "blob", "wb") as destination:
        with streams.open_encrypting_stream(patient.id, document, destination) as stream:
            while chunk := source.read(256 * 1024):
                stream.write(chunk)
        assert not destination.closed  # the caller still owns it (fsync, rename...)

    ciphertext = (tmp_path / "blob").read_bytes()
    assert plaintext[:4096] not in ciphertext
    source = open(tmp_path / "blob", "rb")  # closed by the stream
    with streams.open_decrypting_stream(patient.id, str(document), source) as stream:
        assert stream.read(10) == plaintext[:10]
        rest = []
        while data := stream.read(MB):
            rest.append(data)
    assert source.closed
    assert plaintext[10:] == b"".join(rest)


def test_an_empty_blob_round_trips(make_patient):
    patient = make_patient()
    ciphertext = encrypt_blob(patient.id, "empty", b"")
    assert decrypt_blob(patient.id, "empty", ciphertext) == b""


def test_a_blob_moved_to_another_patient_or_document_does_not_decrypt(make_patient):
    patient, other = make_patient("Alice"), make_patient("Bob")
    services.ensure_keys(other)
    document = uuid.uuid4()
    ciphertext = encrypt_blob(patient.id, document, b"compte rendu" * 1000)

    with pytest.raises(DecryptionFailed):
        decrypt_blob(other.id, document, ciphertext)
    with pytest.raises(DecryptionFailed):
        decrypt_blob(patient.id, uuid.uuid4(), ciphertext)
    with pytest.raises(DecryptionFailed):
        # the blob key is not the field key, and the purpose differs anyway
        services.decrypt(patient.id, document, ciphertext, purpose="blob")


def test_one_flipped_byte_is_detected_on_read(make_patient):
    patient = make_patient()
    plaintext = os.urandom(3 * MB)
    ciphertext = encrypt_blob(patient.id, "scan", plaintext)

    for position in (0, 40, MB + 500, len(ciphertext) - 1):  # header, segments, last tag
        tampered = bytearray(ciphertext)
        tampered[position] ^= 0x80
        with pytest.raises(DecryptionFailed):
            decrypt_blob(patient.id, "scan", bytes(tampered))

    # A flip in the second segment: the first megabyte comes back, then the error.
    tampered = bytearray(ciphertext)
    tampered[MB + 500] ^= 0x80
    with streams.open_decrypting_stream(patient.id, "scan", io.BytesIO(tampered)) as stream:
        assert stream.read(MB // 2) == plaintext[: MB // 2]
        with pytest.raises(DecryptionFailed):
            while stream.read(MB):
                pass


def test_a_truncated_blob_is_detected(make_patient):
    patient = make_patient()
    ciphertext = encrypt_blob(patient.id, "scan", os.urandom(2 * MB + 10))
    for length in (len(ciphertext) - 1, MB + 100, 10):
        with pytest.raises(DecryptionFailed):
            decrypt_blob(patient.id, "scan", ciphertext[:length])


def test_a_failed_write_never_leaves_a_blob_that_decrypts(make_patient):
    patient = make_patient()
    destination = io.BytesIO()
    with pytest.raises(RuntimeError):
        with streams.open_encrypting_stream(patient.id, "upload", destination) as stream:
            stream.write(os.urandom(MB + 10))
            raise RuntimeError("connexion coupée")
    with pytest.raises(DecryptionFailed):
        decrypt_blob(patient.id, "upload", destination.getvalue())
