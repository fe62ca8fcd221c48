"""The encrypted blob store: bound to patient and object, durable, swept safely."""

import io
import os
import time
import uuid

import pytest

from espace_sante.crypto import blobs, services
from espace_sante.crypto.services import DecryptionFailed

pytestmark = pytest.mark.django_db
CONTENT = b"compte rendu d'hospitalisation " * 5000


def stored(patient, *, kind="document", content=CONTENT):
    object_id = uuid.uuid4()
    return object_id, blobs.store(patient.id, object_id, io.BytesIO(content), kind=kind)


def read(patient_id, object_id, name) -> bytes:
    return b"".join(blobs.iter_decrypted(patient_id, object_id, name))


def test_a_blob_reads_back_and_keeps_the_names_existing_data_use(make_patient):
    patient = make_patient()
    document, name = stored(patient)
    attachment, attachment_name = stored(patient, kind="attachment", content=b"piece jointe")
    assert name == f"patients/{patient.id}/{document}.bin"
    assert attachment_name == f"patients/{patient.id}/messages/{attachment}.bin"
    assert read(patient.id, document, name) == CONTENT
    with blobs.open_decrypted(patient.id, attachment, attachment_name) as stream:
        assert stream.read() == b"piece jointe"


def test_a_blob_does_not_decrypt_as_another_patients_or_another_objects(make_patient):
    patient, other = make_patient(), make_patient("Léa")
    services.ensure_keys(other)
    document, name = stored(patient)
    with pytest.raises(DecryptionFailed):
        read(other.id, document, name)
    with pytest.raises(DecryptionFailed):
        read(patient.id, uuid.uuid4(), name)


def test_a_blob_is_never_overwritten(make_patient, private_keys_and_blobs):
    patient = make_patient()
    document, name = stored(patient)
    with pytest.raises(RuntimeError):
        blobs.store(patient.id, document, io.BytesIO(b"autre contenu"), kind="document")
    assert read(patient.id, document, name) == CONTENT
    assert len([p for p in private_keys_and_blobs.rglob("*") if p.is_file()]) == 1


def _age(root, name, seconds):
    past = time.time() - seconds
    os.utime(root / name, (past, past))


def test_the_sweep_keeps_referenced_and_young_blobs_and_removes_old_orphans(
    make_patient, private_keys_and_blobs
):
    patient = make_patient()
    root = private_keys_and_blobs
    _, referenced = stored(patient)
    _, young_orphan = stored(patient)
    _, old_orphan = stored(patient)
    _, old_attachment = stored(patient, kind="attachment")
    for name in (referenced, old_orphan, old_attachment):
        _age(root, name, 2 * blobs.GRACE_SECONDS)

    def known(names):
        return names & {referenced}

    assert blobs.sweep_orphans("document", known) == 1
    assert not (root / old_orphan).exists()
    assert (root / referenced).exists() and (root / young_orphan).exists()
    # Another kind's folder is another sweep's business.
    assert (root / old_attachment).exists()
    assert blobs.sweep_orphans("document", known) == 0  # twice: nothing more to do
    assert blobs.sweep_orphans("attachment", lambda names: set()) == 1
    assert not (root / old_attachment).exists()


def test_a_sweep_of_an_empty_store_does_nothing():
    assert blobs.sweep_orphans("document", lambda names: set()) == 0


def test_deleting_is_safe_to_repeat(make_patient, private_keys_and_blobs):
    patient = make_patient()
    _, name = stored(patient)
    blobs.delete([name])
    blobs.delete([name, ""])
    assert not (private_keys_and_blobs / name).exists()
