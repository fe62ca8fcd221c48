"""The encrypted blob store: bound to patient and object, durable, swept safely."""

import errno
import io
import os
import time
import uuid

import pytest
from django.core.files import File
from django.core.files.storage import FileSystemStorage

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


# --- A write that fails leaves nothing (issue 12, item 4) ---------------------------


def test_a_full_disk_leaves_no_partial_blob_and_says_storage_full(make_patient, full_disk):
    """A real ENOSPC from the kernel (a 64 KiB tmpfs), not a mock."""
    patient = make_patient()
    services.ensure_keys(patient)
    with pytest.raises(blobs.StorageFull) as raised:
        blobs.store(patient.id, uuid.uuid4(), io.BytesIO(os.urandom(200_000)), kind="document")
    assert raised.value.errno == errno.ENOSPC
    assert blobs.is_storage_full(raised.value)
    assert full_disk.files() == []
    # The store works again once there is room: a small blob fits.
    _, name = stored(patient, content=b"petit")
    assert [p.name for p in full_disk.files()] == [name.rsplit("/", 1)[-1]]


class FailingWrites(FileSystemStorage):
    """Django's file storage whose writes fail after some bytes (the library part replaced).

    Stands in for errors the kernel cannot be made to return here (EIO).
    """

    fail_after = 70_000
    error = errno.EIO

    def _save(self, name, content):
        class Failing(File):
            def chunks(inner, chunk_size=None):  # noqa: N805 - the wrapped file's method
                sent = 0
                for chunk in content.chunks(chunk_size):
                    sent += len(chunk)
                    if sent > self.fail_after:
                        raise OSError(self.error, os.strerror(self.error))
                    yield chunk

        return super()._save(name, Failing(content.file, name=content.name))


@pytest.mark.parametrize("error", [errno.EIO, errno.ENOSPC, errno.EDQUOT])
def test_any_write_error_removes_the_partial_blob(
    make_patient, private_keys_and_blobs, settings, error
):
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": f"{__name__}.FailingWrites",
            "OPTIONS": {"location": str(private_keys_and_blobs)},
        },
    }
    FailingWrites.error = error
    patient = make_patient()
    services.ensure_keys(patient)
    expected = blobs.StorageFull if error != errno.EIO else OSError
    with pytest.raises(expected) as raised:
        blobs.store(patient.id, uuid.uuid4(), io.BytesIO(os.urandom(200_000)), kind="document")
    assert raised.value.errno == error
    assert isinstance(raised.value, blobs.StorageFull) == (error != errno.EIO)
    assert [p for p in private_keys_and_blobs.rglob("*") if p.is_file()] == []


def test_a_failed_sync_removes_the_blob(make_patient, private_keys_and_blobs, monkeypatch):
    """fsync reporting the error (delayed allocation, NFS): the blob is not durable, so gone."""
    patient = make_patient()
    services.ensure_keys(patient)

    def failing_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(blobs.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        blobs.store(patient.id, uuid.uuid4(), io.BytesIO(CONTENT), kind="document")
    assert [p for p in private_keys_and_blobs.rglob("*") if p.is_file()] == []


def test_a_failed_write_never_deletes_the_blob_already_under_that_name(
    make_patient, private_keys_and_blobs
):
    patient = make_patient()
    document, name = stored(patient)
    with pytest.raises(RuntimeError):
        blobs.store(patient.id, document, io.BytesIO(b"autre contenu"), kind="document")
    assert read(patient.id, document, name) == CONTENT
