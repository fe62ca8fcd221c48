"""What a process killed in the middle of an upload leaves in var/tmp is swept away.

Found by test_kill_during_ingestion.py: a gunicorn worker killed while it checked a
pushed document left the document's plaintext in var/tmp (``upload-…``), for good.
"""

import os
import time

import pytest
from django.core.management import call_command

from espace_sante.crypto import blobs
from espace_sante.record.documents import services as record

pytestmark = pytest.mark.django_db

HOUR = 3600


def left_by_a_killed_process(folder, name: str, age_seconds: float):
    path = folder / name
    path.write_bytes(b"Compte rendu : plaintext of a document being checked\n")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def test_the_plaintext_copy_of_an_interrupted_upload_is_swept_after_the_grace(settings):
    tmp = settings.VAR_DIR / "tmp"
    ours = left_by_a_killed_process(tmp, "upload-k1ll3d", 2 * HOUR)
    django_spool = left_by_a_killed_process(tmp, "tmpab12cd.upload", 2 * HOUR)
    in_flight = left_by_a_killed_process(tmp, "upload-running", 10)
    imports = tmp / "imports"  # the operator's files waiting for the worker
    imports.mkdir()
    waiting = left_by_a_killed_process(imports, "campagne.csv", 2 * HOUR)

    call_command("sweep_blobs", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert not ours.exists() and not django_spool.exists()
    assert in_flight.exists(), "a request may still be using a recent file"
    assert waiting.exists()


def test_sweeping_twice_deletes_nothing_more(settings):
    left_by_a_killed_process(settings.VAR_DIR / "tmp", "upload-k1ll3d", 2 * HOUR)
    assert record.sweep_orphan_blobs() == 1
    assert record.sweep_orphan_blobs() == 0
    assert blobs.sweep_temporary_files() == 0
