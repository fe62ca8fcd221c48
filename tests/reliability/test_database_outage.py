"""The database goes away: the web says so with 503 and Retry-After, the worker waits.

The line to PostgreSQL goes through a proxy the test cuts (tests/reliability/proxy.py),
as a failed network link or a restarting database server would.
"""

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from espace_sante.enrollment import services as enrollment
from espace_sante.enrollment.models import Beneficiary
from espace_sante.identity.models import Person, SpaceState
from espace_sante.web.models import WorkerHeartbeat
from tests.enrollment.support import csv_lines, person_row

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def through(proxy):
    """This process's own database connection goes through the proxy."""
    settings = connection.settings_dict
    direct = settings["HOST"], settings["PORT"]
    settings["HOST"], settings["PORT"] = "127.0.0.1", str(proxy.port)
    connection.close()
    try:
        yield
    finally:
        proxy.restore()
        settings["HOST"], settings["PORT"] = direct
        connection.close()


def test_pages_answer_503_with_retry_after_while_the_database_is_away(database_proxy, personas):
    browser = Client(raise_request_exception=False)
    browser.force_login(personas.mother.user)
    with through(database_proxy):
        assert browser.get("/documents/").status_code == 200
        database_proxy.cut()
        page = browser.get("/documents/")
        fhir = Client(raise_request_exception=False).get(
            "/fhir/R4/DocumentReference?patient=x", HTTP_AUTHORIZATION="Bearer jeton"
        )
        database_proxy.restore()
        # What Django does as every request starts, and the test client skips.
        close_old_connections()
        after = browser.get("/documents/")

    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    text = page.content.decode()
    assert "momentanément indisponible" in text and 'lang="fr"' in text
    assert "Traceback" not in text

    assert fhir.status_code == 503, fhir.content
    assert fhir["Retry-After"] == "30"
    assert fhir["Content-Type"].startswith("application/fhir+json")
    outcome = json.loads(fhir.content)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "transient"

    assert after.status_code == 200, "the web recovers by itself once the database is back"


def test_readyz_is_503_while_the_database_is_away(database_proxy):
    with through(database_proxy):
        database_proxy.cut()
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert json.loads(response.content)["database"] == "injoignable"


def start_worker(tmp_path, settings, proxy_port: int, smtp_port: int) -> subprocess.Popen:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@127.0.0.1:{proxy_port}/{database['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ESPACE_SANTE_VAR_DIR": str(tmp_path / "var"),
        "KEK_KEYSET_FILE": settings.KEK_KEYSET_FILE,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PGPASSWORD": database.get("PASSWORD") or "",
    }
    command = [sys.executable, "-m", "espace_sante.cli", "worker", "--no-startup-delay"]
    command += ["--interval", "0.2", "--max-backoff", "1", "--no-reload", "-v", "1"]
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_until(condition, timeout: float = 30.0, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(message or "condition not met in time")


def test_work_queued_during_an_outage_is_done_once_when_the_database_returns(
    database_proxy, tmp_path, settings, smtp_server
):
    campaign = enrollment.create_campaign("Haute-Garonne 2026", "31", timezone.localdate())
    enrollment.import_beneficiaries(campaign, csv_lines([person_row(n) for n in (1, 2, 3)]))
    past = timezone.now() - timedelta(days=43)
    Beneficiary.objects.update(
        delivery="email_sent", informed_at=past, auto_create_after=past + timedelta(days=42)
    )
    worker = start_worker(tmp_path, settings, database_proxy.port, settings.EMAIL_PORT)
    try:
        wait_until(WorkerHeartbeat.objects.exists, message="the worker never beat")
        database_proxy.cut()
        from espace_sante.enrollment.tasks import create_due_spaces

        # Queued while the worker cannot reach the database (this process can).
        create_due_spaces.enqueue()
        time.sleep(4)  # several failed attempts, with their back-off
        assert worker.poll() is None, "the worker exited during the outage"
        database_proxy.restore()

        wait_until(
            lambda: Person.objects.filter(space_state=SpaceState.CREATED).count() == 3,
            message="the spaces queued during the outage were not created",
        )
        for serial in (1, 2, 3):
            smtp_server.wait_for(f"personne{serial}@exemple.test", timeout=30)
        wait_until(lambda: not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists())
        time.sleep(1)  # a duplicate would arrive now
        assert worker.poll() is None
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]

    for serial in (1, 2, 3):
        assert len(smtp_server.to(f"personne{serial}@exemple.test")) == 1, output
    assert Person.objects.filter(space_transitions__event="auto_created").count() == 3
    assert "Database unreachable" in output
    assert WorkerHeartbeat.objects.get().outages >= 1
