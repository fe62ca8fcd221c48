"""kill -9 of the web and the task worker while software pushes documents (issue 12).

The service runs in its own processes, as `make run` serves it (`espace-sante serve`,
gunicorn with several workers, and `espace-sante worker`), against the test database.
While client threads push KILL_DOCUMENTS documents (1,000 by default), gunicorn workers,
the gunicorn master and the task worker are killed with SIGKILL and started again as a
supervisor would (tests/reliability/ingestion.py). Afterwards: 0 acknowledged document
lost, 0 half-visible, 0 duplicate, no plaintext left once swept, the audit trail
verifies, every queued task ran once. The figures are printed in the terminal summary
(tests/reliability/conftest.py), with or without `-s` or xdist; `bench/reliability.py`
runs the same at larger counts. About 80 s of pushing for 1,000 documents on the shared
2-core machine, 3 minutes with the test database and the checks.
"""

import os

import pytest
from django.db import connection

from . import ingestion

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTS = int(os.environ.get("KILL_DOCUMENTS", "1000"))
CLIENTS = 6
WEB_WORKERS = 3
PATIENTS = 40


def database_url() -> str:
    database = connection.settings_dict
    password = database.get("PASSWORD") or ""
    credentials = database["USER"] + (f":{password}" if password else "")
    host = database["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{database['PORT'] or 5432}/{database['NAME']}"


def test_no_acknowledged_document_is_lost_when_processes_are_killed(
    settings, tmp_path, record_property
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "Serveur dans des processus séparés : la base SQLite des tests est en mémoire, "
            "invisible pour eux ; PostgreSQL seulement (bench/reliability.py tourne aussi "
            "sur SQLite)"
        )
    setup = ingestion.prepare(PATIENTS)
    mailbox = ingestion.Mailbox()
    service = ingestion.Service(settings.VAR_DIR, database_url(), mailbox.port, WEB_WORKERS)
    try:
        service.start_web()
        service.start_worker()
        result = ingestion.run(service, setup, DOCUMENTS, CLIENTS, size=8 * 1024)
        findings = ingestion.check_through_api(service, setup, result, CLIENTS)
        drained = ingestion.wait_for_tasks()
    finally:
        service.stop()
        mailbox.stop()
    findings.emails = mailbox.received
    ingestion.check_store(findings, result, settings.VAR_DIR, setup)
    figures = ingestion.report(result, findings, CLIENTS, WEB_WORKERS)
    record_property("figures", figures)

    assert drained, "the task worker did not empty the queue"
    assert findings.refused == []
    assert findings.acknowledged == DOCUMENTS
    assert findings.lost == []
    assert findings.rows_without_blob == []
    assert findings.blobs_without_row == []
    assert findings.duplicates == [] and findings.unexpected_rows == 0
    # The clients that stopped waiting sent their request again: the key brought back the
    # document the server had stored (or was storing) for it.
    assert result.counts.timeouts > 0 and findings.recognised_by_key > 0
    assert findings.plaintext_left == []
    assert findings.audit == "ok"
    # Every access notification was sent, once: one email per patient read back.
    assert findings.notifications == PATIENTS
    assert findings.notifications_unsent == 0
    assert set(findings.tasks) == {"SUCCESSFUL"}
    assert findings.emails_twice == []
    # Known gap, not of this scenario's making: an email task killed after it claimed its
    # notification and before the mail server took the message sends nothing when run
    # again (access/emails.py send_once claims, then sends). Only those may be missing.
    assert set(findings.emails_missing) <= set(findings.emails_interrupted)
    assert result.kills.web_workers >= 5 and result.kills.masters == 1
    assert result.kills.task_workers >= 2
