"""Two schedulers run at once, as on two hosts: each scheduled run is enqueued once.
One scheduler loses its database: it says so, goes on, and schedules again once it is back.

Real `espace-sante scheduler` processes on the test's PostgreSQL database (SQLite's test
database is in memory, invisible to another process). The job under test is made to fire
every two seconds (``SCHEDULE_OVERRIDES``, six-field cron line with seconds) so the test
sees several turns in a few seconds.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from espace_sante.web.models import ScheduledRun, SchedulerHeartbeat

from .test_database_outage import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

JOB = "record_deposit_keys"
TASK_PATH = "espace_sante.record.documents.tasks.purge_deposit_keys"
EVERY_TWO_SECONDS = "*/2 * * * * *"


def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "Planificateurs dans des processus séparés : la base SQLite des tests est en "
            "mémoire, invisible pour eux ; PostgreSQL seulement"
        )


def start_scheduler(tmp_path, settings, host: str, port: int) -> subprocess.Popen:
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{host}:{port}/{database['NAME']}",
        "ESPACE_SANTE_VAR_DIR": str(tmp_path / "var"),
        "KEK_KEYSET_FILE": settings.KEK_KEYSET_FILE,
        "PGPASSWORD": database.get("PASSWORD") or "",
        "SCHEDULE_OVERRIDES": json.dumps({JOB: EVERY_TWO_SECONDS}),
        "LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "espace_sante.cli", "scheduler", "--only", JOB]
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=30)[0]


def test_two_schedulers_enqueue_each_run_once(tmp_path, settings):
    postgres_only()
    database = connection.settings_dict
    host, port = database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)
    first = start_scheduler(tmp_path, settings, host, port)
    second = start_scheduler(tmp_path, settings, host, port)
    try:
        wait_until(
            lambda: SchedulerHeartbeat.objects.count() == 2, message="both schedulers never beat"
        )
        wait_until(
            lambda: ScheduledRun.objects.filter(job=JOB).count() >= 5,
            timeout=30,
            message="the job was not scheduled every two seconds",
        )
        assert first.poll() is None and second.poll() is None
    finally:
        outputs = stop(first) + stop(second)
    assert first.returncode == 0 and second.returncode == 0, outputs

    runs = list(ScheduledRun.objects.filter(job=JOB).order_by("scheduled_for"))
    times = [run.scheduled_for for run in runs]
    # Every turn of the two seconds, from the first to the last, once: none missed, none twice.
    gaps = {later - earlier for earlier, later in zip(times, times[1:], strict=False)}
    assert gaps == {timedelta(seconds=2)}, times
    assert all(moment.second % 2 == 0 and moment.microsecond == 0 for moment in times)
    # One task in the queue per turn, each the one its claim names.
    queued = DBTaskResult.objects.filter(task_path=TASK_PATH)
    assert queued.count() == len(runs), outputs
    assert {str(task.id) for task in queued} == {run.task_id for run in runs}
    # Both were there at each turn: the one that lost the race said so and did nothing.
    assert "already enqueued by another scheduler" in outputs


def test_a_scheduler_lives_through_a_database_outage(database_proxy, tmp_path, settings):
    scheduler = start_scheduler(tmp_path, settings, "127.0.0.1", database_proxy.port)
    try:
        wait_until(SchedulerHeartbeat.objects.exists, message="the scheduler never beat")
        wait_until(lambda: ScheduledRun.objects.filter(job=JOB).exists())
        database_proxy.cut()
        cut_at = time.monotonic()
        time.sleep(6)  # three turns of the job and a heartbeat while it cannot reach the base
        assert scheduler.poll() is None, "the scheduler exited during the outage"
        before = ScheduledRun.objects.filter(job=JOB).count()
        database_proxy.restore()
        wait_until(
            lambda: ScheduledRun.objects.filter(job=JOB).count() >= before + 2,
            message="the scheduler did not schedule again after the outage",
        )
        wait_until(
            lambda: SchedulerHeartbeat.objects.get().outages >= 1,
            message="the heartbeat did not come back with the outage counted",
        )
        assert time.monotonic() - cut_at < 60
        assert scheduler.poll() is None
    finally:
        output = stop(scheduler)
    assert "Database unreachable" in output, output
    assert scheduler.returncode == 0, output
    # Still one task per claimed turn.
    assert DBTaskResult.objects.filter(task_path=TASK_PATH).count() == (
        ScheduledRun.objects.filter(job=JOB).count()
    )
