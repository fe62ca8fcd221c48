"""The scheduler enqueues each periodic job once at its time; the worker runs it.

Two ``Scheduler`` objects stand for two scheduler processes (the real processes are in
tests/reliability/test_scheduler_processes.py, PostgreSQL only): both fire the same
run, the database claim lets one enqueue it.
"""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_tasks_db.models import DBTaskResult

from espace_sante.web import schedule
from espace_sante.web.models import ScheduledRun, SchedulerHeartbeat
from espace_sante.web.scheduler import Scheduler

pytestmark = pytest.mark.django_db(transaction=True)
PARIS = ZoneInfo("Europe/Paris")
RETENTION_TASK = "espace_sante.messaging.tasks.apply_retention"


def retention_job() -> schedule.Job:
    [job] = schedule.jobs(["messaging_retention"])
    return job


def test_a_due_job_is_enqueued_once_by_two_schedulers():
    job = retention_job()
    assert job.cron == "30 3 * * *"  # every night at 03:30, Paris time
    first, second = Scheduler([job]), Scheduler([job])
    with time_machine.travel(datetime(2026, 3, 3, 3, 30, 0, 20_000, tzinfo=PARIS), tick=False):
        first.fire(job)
    # The second scheduler, a little late, fires the same night's run.
    with time_machine.travel(datetime(2026, 3, 3, 3, 31, 10, tzinfo=PARIS), tick=False):
        second.fire(job)

    [run] = ScheduledRun.objects.all()
    assert run.job == "messaging_retention"
    assert run.scheduled_for == datetime(2026, 3, 3, 3, 30, tzinfo=PARIS)
    assert run.claimed_by == first.scheduler_id
    [task] = DBTaskResult.objects.filter(task_path=RETENTION_TASK)
    assert str(task.id) == run.task_id and task.status == "READY"
    assert (first.runs_claimed, second.runs_claimed) == (1, 0)

    # The next night is another run.
    with time_machine.travel(datetime(2026, 3, 4, 3, 30, 1, tzinfo=PARIS), tick=False):
        second.fire(job)
    assert ScheduledRun.objects.count() == 2
    assert DBTaskResult.objects.filter(task_path=RETENTION_TASK).count() == 2


def test_the_worker_runs_what_the_scheduler_enqueued():
    job = retention_job()
    with time_machine.travel(datetime(2026, 3, 3, 3, 30, 1, tzinfo=PARIS), tick=False):
        Scheduler([job]).fire(job)
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    [task] = DBTaskResult.objects.filter(task_path=RETENTION_TASK)
    assert task.status == "SUCCESSFUL"


def test_a_run_past_the_grace_is_left_to_the_next_turn():
    """A scheduler paused for an hour does not enqueue the night's run at 04:30."""
    job = retention_job()
    with time_machine.travel(datetime(2026, 3, 3, 4, 30, tzinfo=PARIS), tick=False):
        Scheduler([job]).fire(job)
    assert not ScheduledRun.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_every_periodic_job_names_a_task_the_worker_can_run():
    names = {job.name for job in schedule.jobs()}
    assert names == {
        "notification_digests",
        "agenda_daily_reminders",
        "messaging_retention",
        "enrollment_create_due",
        "enrollment_purge",
        "record_deposit_keys",
        "record_orphan_blobs",
        "audit_seal",
    }
    at = datetime(2026, 3, 3, 12, 0, tzinfo=PARIS)
    scheduler = Scheduler(schedule.jobs())
    for _job, upcoming in scheduler.next_runs():
        assert upcoming is not None and upcoming > datetime.now(PARIS) - timedelta(minutes=1)
    # Each enqueues a real task: fired at its own time, it lands in the queue.
    for job in schedule.jobs():
        upcoming = scheduler.triggers[job.name].get_next_fire_time(None, at)
        with time_machine.travel(upcoming + timedelta(seconds=1), tick=False):
            scheduler.fire(job)
    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == sorted(
        job.task for job in schedule.jobs()
    )


def test_an_operator_changes_a_time_and_unknown_jobs_are_refused(settings):
    settings.SCHEDULE_OVERRIDES = {"audit_seal": "0 */6 * * *"}
    [seal] = schedule.jobs(["audit_seal"])
    assert seal.cron == "0 */6 * * *"
    settings.SCHEDULE_OVERRIDES = {"audit_sael": "0 * * * *"}
    with pytest.raises(ValueError, match="audit_sael"):
        schedule.jobs()


def test_readyz_says_when_the_scheduler_beat_and_when_it_fell_silent(client):
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    Scheduler([]).beat()
    ready = json.loads(client.get("/readyz").content)
    assert ready["status"] == "ok"
    assert ready["scheduler"] == "ok" and ready["schedulers_alive"] == 1
    beat = SchedulerHeartbeat.objects.get()
    assert ready["scheduler_last_heartbeat"] == beat.beat_at.isoformat()

    SchedulerHeartbeat.objects.update(beat_at=beat.beat_at - timedelta(minutes=3))
    silent = json.loads(client.get("/readyz").content)
    assert silent["status"] == "degraded" and silent["scheduler"] == "silencieux"


def test_the_morning_job_runs_the_agendas_reminders():
    """The 07:00 job, run by the worker, queues the day's reminders for the digest."""
    from espace_sante.access.models import PendingNotification
    from espace_sante.agenda.models import ReminderSchedule
    from tests.personas import make_person

    # prevention.md: a woman of 52 is due a mammography (every two years from 50).
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1974, 3, 3))
    [job] = schedule.jobs(["agenda_daily_reminders"])
    import_string(job.task).call()
    assert ReminderSchedule.objects.filter(patient=odette).exists()
    assert (
        PendingNotification.objects.filter(patient=odette, kind="prevention_reminder").count() == 1
    )


def test_the_hourly_creation_of_due_spaces_starts_no_chain_of_tasks(smtp_server):
    """The scheduled run creates what is due, and leaves the next due date to the next hour
    (the enrollment task would enqueue itself again: one more chain every hour)."""
    from espace_sante.enrollment import services as enrollment
    from espace_sante.enrollment.models import Beneficiary
    from espace_sante.identity.models import Person, SpaceState
    from tests.enrollment.support import csv_lines, person_row

    now = datetime(2026, 3, 3, 12, 10, 1, tzinfo=PARIS)
    [job] = schedule.jobs(["enrollment_create_due"])
    with time_machine.travel(now, tick=False):
        campaign = enrollment.create_campaign("Haute-Garonne 2026", "31", now.date())
        enrollment.import_beneficiaries(campaign, csv_lines([person_row(n) for n in (1, 2)]))
        past = now - timedelta(days=43)
        Beneficiary.objects.update(
            delivery="email_sent", informed_at=past, auto_create_after=past + timedelta(days=42)
        )
        Beneficiary.objects.filter(pk=Beneficiary.objects.order_by("pk").last().pk).update(
            auto_create_after=now + timedelta(days=7)
        )
        Scheduler([job]).fire(job)
        call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    assert Person.objects.filter(space_state=SpaceState.CREATED).count() == 1
    [task] = DBTaskResult.objects.filter(task_path__endswith=".create_due_spaces")
    assert task.task_path == "espace_sante.web.tasks.create_due_spaces"
    assert task.status == "SUCCESSFUL"


def test_the_command_lists_the_jobs_and_refuses_an_unknown_one(capsys):
    from django.core.management.base import CommandError

    call_command("scheduler", "--list")
    listed = capsys.readouterr().out
    assert "audit_seal" in listed and "prochain :" in listed
    assert "scellement du journal d'accès" in listed
    with pytest.raises(CommandError, match="inconnue\\(s\\) : audit_sael"):
        call_command("scheduler", "--only", "audit_sael")
