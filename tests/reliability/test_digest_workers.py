"""Two worker processes run the digest job at once: the person receives one email.

Real `espace-sante worker` processes on the test's PostgreSQL database and a real SMTP
server; the digest task is queued several times, as two schedulers and an operator might.
"""

import os
import subprocess
import sys
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tasks_db.models import DBTaskResult

from espace_sante.access import notifications
from espace_sante.access.models import NotificationDigest, PendingNotification
from espace_sante.access.tasks import send_notification_digests
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.services import NewDocument
from espace_sante.web.models import WorkerHeartbeat
from tests.access.audit_support import pro_actor
from tests.record.conftest import make_pdf

from .test_database_outage import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def start_worker(tmp_path, settings, smtp_port: int) -> subprocess.Popen:
    database = connection.settings_dict
    host, port = database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{host}:{port}/{database['NAME']}",
        "ESPACE_SANTE_VAR_DIR": str(tmp_path / "var"),
        "KEK_KEYSET_FILE": settings.KEK_KEYSET_FILE,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PGPASSWORD": database.get("PASSWORD") or "",
        # No quiet hours: the test must not depend on the hour it runs at.
        "NOTIFICATION_QUIET_START": "00:00",
        "NOTIFICATION_QUIET_END": "00:00",
    }
    command = [sys.executable, "-m", "espace_sante.cli", "worker", "--no-startup-delay"]
    command += ["--interval", "0.1", "--no-reload", "-v", "1"]
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_two_workers_running_the_digest_send_one_email(personas, tmp_path, settings, smtp_server):
    if connection.vendor != "postgresql":
        pytest.skip(
            "Workers dans des processus séparés : la base SQLite des tests est en mémoire, "
            "invisible pour eux ; PostgreSQL seulement"
        )
    marie = personas.mother
    documents.add_document(
        pro_actor(personas.gp),
        marie,
        SimpleUploadedFile("analyse.pdf", make_pdf()),
        NewDocument(
            title="Bilan sanguin confidentiel",
            type_code="11502-2",
            source=Document.Source.PROFESSIONAL,
            author_professional=personas.gp,
        ),
    )
    notifications.notify(marie.id, notifications.Kind.APPOINTMENT)
    workers = [start_worker(tmp_path, settings, settings.EMAIL_PORT) for _ in range(2)]
    try:
        wait_until(lambda: WorkerHeartbeat.objects.count() == 2, message="a worker never beat")
        # Both are polling: twenty queued at once are shared between them.
        queued = [send_notification_digests.enqueue() for _ in range(20)]
        wait_until(
            lambda: (
                DBTaskResult.objects.filter(
                    id__in=[result.id for result in queued], status="SUCCESSFUL"
                ).count()
                == len(queued)
            ),
            message="the digest tasks were not all run",
        )
        time.sleep(1)  # a second email would arrive now
    finally:
        outputs = ""
        for worker in workers:
            worker.terminate()
            outputs += worker.communicate(timeout=30)[0]

    ran_by = {
        tuple(result.worker_ids)[-1]
        for result in DBTaskResult.objects.filter(id__in=[r.id for r in queued])
    }
    assert len(ran_by) == 2, f"one worker did all the work; no race was tested\n{outputs}"
    [message] = smtp_server.to(marie.user.email)
    body = smtp_server.body(message)
    assert "un nouveau document" in body and "un rendez-vous demain" in body
    assert "Bilan" not in body
    assert NotificationDigest.objects.filter(patient=marie).count() == 1
    assert not PendingNotification.objects.filter(patient=marie, sent_at__isnull=True).exists()
