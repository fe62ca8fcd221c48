"""A task worker killed with SIGKILL in the middle of a task: the next worker does the task.

django-tasks-db leaves such a task RUNNING for ever (django-tasks issue #46); found by
test_kill_during_ingestion.py's scenario, pinned here with a task that cannot finish
before the kill: the operator's beneficiary file is a named pipe the test writes into
only once the first worker is dead.
"""

import os
import signal
import subprocess
import sys

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from espace_sante.enrollment import tasks
from espace_sante.enrollment.models import Beneficiary
from espace_sante.web.models import WorkerHeartbeat
from tests.enrollment.support import csv_lines, person_row

from .test_database_outage import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def start_worker(tmp_path, settings) -> subprocess.Popen:
    database = connection.settings_dict
    host = database["HOST"] or "127.0.0.1"
    url = f"postgres://{database['USER']}@{host}:{database['PORT'] or 5432}/{database['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ESPACE_SANTE_VAR_DIR": str(tmp_path),
        "KEK_KEYSET_FILE": settings.KEK_KEYSET_FILE,
        "PGPASSWORD": database.get("PASSWORD") or "",
    }
    command = [sys.executable, "-m", "espace_sante.cli", "worker", "--no-startup-delay"]
    command += ["--interval", "0.2", "--no-reload", "-v", "1"]
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def release(pipe) -> None:
    try:
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # no reader (ENXIO) or no pipe any more: nobody waits on it
        pass


def test_a_task_left_running_by_a_killed_worker_is_done_by_the_next_one(
    campaign, tmp_path, settings
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "Worker dans un processus séparé : la base SQLite des tests est en mémoire, "
            "invisible pour lui ; PostgreSQL seulement"
        )
    upload = tmp_path / "beneficiaires.csv"
    os.mkfifo(upload)  # the import blocks on it until someone writes the file
    result = tasks.import_file.enqueue(str(campaign.pk), str(upload), "beneficiaires.csv")
    first = start_worker(tmp_path, settings)
    second = None
    try:
        wait_until(
            lambda: DBTaskResult.objects.get(id=result.id).status == "RUNNING",
            message="the first worker never took the import",
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait()  # reaped, as a supervisor does
        assert DBTaskResult.objects.get(id=result.id).status == "RUNNING"

        second = start_worker(tmp_path, settings)
        wait_until(
            lambda: len(DBTaskResult.objects.get(id=result.id).worker_ids) == 2,
            message="the import left running by the killed worker was never taken again",
        )
        with open(upload, "w", encoding="utf-8") as pipe:
            pipe.writelines(csv_lines([person_row(1), person_row(2)]))
        wait_until(
            lambda: DBTaskResult.objects.get(id=result.id).status == "SUCCESSFUL",
            message="the import did not finish",
        )
    finally:
        release(upload)  # a worker still waiting on the pipe reads an empty file and stops
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
        output = "".join(w.communicate(timeout=30)[0] for w in (first, second) if w)

    assert Beneficiary.objects.filter(campaign=campaign).count() == 2, output
    assert "abandoned by worker" in output


def test_a_task_running_on_a_live_worker_is_left_to_it(campaign, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip(
            "Workers dans des processus séparés : la base SQLite des tests est en mémoire, "
            "invisible pour eux ; PostgreSQL seulement"
        )
    upload = tmp_path / "beneficiaires.csv"
    os.mkfifo(upload)
    result = tasks.import_file.enqueue(str(campaign.pk), str(upload), "beneficiaires.csv")
    first = start_worker(tmp_path, settings)
    second = None
    try:
        wait_until(
            lambda: DBTaskResult.objects.get(id=result.id).status == "RUNNING",
            message="the first worker never took the import",
        )
        second = start_worker(tmp_path, settings)
        # The second worker looks for abandoned tasks before its first heartbeat.
        wait_until(
            lambda: WorkerHeartbeat.objects.count() == 2, message="the second worker never beat"
        )
        task = DBTaskResult.objects.get(id=result.id)
        assert task.status == "RUNNING" and len(task.worker_ids) == 1
        with open(upload, "w", encoding="utf-8") as pipe:
            pipe.writelines(csv_lines([person_row(1)]))
        wait_until(
            lambda: DBTaskResult.objects.get(id=result.id).status == "SUCCESSFUL",
            message="the import did not finish",
        )
    finally:
        release(upload)
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
        output = "".join(w.communicate(timeout=30)[0] for w in (first, second) if w)

    assert DBTaskResult.objects.get(id=result.id).worker_ids == task.worker_ids, output
    assert "abandoned by worker" not in output
