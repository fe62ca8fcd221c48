"""Fixtures for the crypto tests: a KEK in a temporary directory, patients on demand."""

import itertools
import json
from base64 import b64decode
from datetime import date
from pathlib import Path

import pytest
import tink
from stdnum.fr import nir
from tink import secret_key_access
from tink.proto import aes_gcm_hkdf_streaming_pb2, aes_gcm_pb2, tink_pb2

from espace_sante.crypto import kek, services
from espace_sante.identity.services import create_person

_serial = itertools.count(100)


@pytest.fixture(autouse=True)
def kek_path(settings, tmp_path) -> Path:
    """Every crypto test gets its own KEK file, never var/keys."""
    path = tmp_path / "keys" / "kek.json"
    settings.KEK_KEYSET_FILE = str(path)
    yield path
    kek.forget()
    services._cache.clear()


@pytest.fixture
def make_patient(db):
    """Create a Person (a patient) with a valid, unique INS."""

    def make(first_names: str = "Camille"):
        number = f"28803315{next(_serial):05d}"
        return create_person(
            ins_matricule=number + nir.calc_check_digits(number),
            birth_name="Martin",
            first_names=first_names,
            birth_date=date(1988, 3, 14),
            sex="F",
            birth_place_code="31555",
            department="31",
        )

    return make


def kek_key_bytes(path: Path) -> list[bytes]:
    """The raw AES key bytes of every key in the KEK keyset file."""
    keyset = json.loads(path.read_text())
    return [
        aes_gcm_pb2.AesGcmKey.FromString(b64decode(key["keyData"]["value"])).key_value
        for key in keyset["key"]
    ]


def patient_key_bytes(patient_id, wrapped_aead: bytes, wrapped_stream: bytes) -> list[bytes]:
    """Unwrap a patient's keysets with the KEK, as an attacker holding both would,
    and return the raw data-key bytes (the documented wrapping associated data)."""
    kek_aead = kek.current().aead
    found = []
    for wrapped, kind, proto in (
        (wrapped_aead, "aead", aes_gcm_pb2.AesGcmKey),
        (wrapped_stream, "stream", aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey),
    ):
        handle = tink.proto_keyset_format.parse_encrypted(
            bytes(wrapped), kek_aead, f"espace-sante|keyset|v1|{patient_id}|{kind}".encode()
        )
        keyset = tink_pb2.Keyset.FromString(
            tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
        )
        found += [proto.FromString(key.key_data.value).key_value for key in keyset.key]
    return found
