"""The one scheduler of the periodic jobs: APScheduler's cron triggers, a claim in the database.

APScheduler (3.x, in-process) decides *when*: one cron trigger per job of
``web/schedule.py``, in Europe/Paris. At each fire the scheduler does not run
the job: it inserts a ``ScheduledRun`` row for (job, scheduled time) and, in
the same transaction, enqueues the job's django-tasks task, which the worker
runs. The row is unique, so with several schedulers (two hosts, a restart
that overlaps) the first insert wins and the others hit the constraint: each
scheduled run is enqueued once, on PostgreSQL and on SQLite alike. The jobs
are idempotent besides, so a run done late or twice does its work once.

Like the worker, it outlives database outages: a claim that cannot reach the
database is tried again later (a one-off APScheduler job, with a growing
delay) until the job's next turn, which then does the work; nothing exits.
A heartbeat row every ``HEARTBEAT_SECONDS`` tells ``/readyz`` it is alive.

The scheduled time is worked out from the trigger, not from the clock
(APScheduler does not hand it to the job): the latest fire time not after
now. Two schedulers firing the same run a little apart find the same time.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import ScheduledRun, SchedulerHeartbeat
from .schedule import Job
from .worker import UNREACHABLE, ResilientWorker

logger = logging.getLogger("espace_sante.scheduler")

HEARTBEAT_SECONDS = 10
SILENT_AFTER = timedelta(seconds=120)
# A run fired later than this (a process paused, a long outage) is skipped: the next
# turn does the same work, the jobs being idempotent.
MISFIRE_GRACE_SECONDS = 300
# The claimed runs kept for operators to read, then deleted.
KEEP_RUNS = timedelta(days=7)
MAX_BACKOFF_SECONDS = 30.0


def trigger_for(cron: str) -> CronTrigger:
    """A cron line in Europe/Paris: five fields, or six with the second first."""
    fields = cron.split()
    zone = settings.TIME_ZONE
    if len(fields) == 5:
        return CronTrigger.from_crontab(cron, timezone=zone)
    if len(fields) == 6:
        second, minute, hour, day, month, day_of_week = fields
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=zone,
        )
    raise ValueError(f"Not a cron line (5 or 6 fields): {cron!r}")


def scheduled_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest fire time of ``trigger`` not after ``now`` (within the misfire grace)."""
    latest = None
    moment = trigger.get_next_fire_time(None, now - timedelta(seconds=MISFIRE_GRACE_SECONDS))
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
    return latest


def claim(job: Job, scheduled_for: datetime, scheduler_id: str) -> bool:
    """Enqueue ``job``'s task for the run at ``scheduled_for``, unless already done: True if
    this call did. The claim row and the queued task commit together (database queue), so a
    crash between the two leaves neither."""
    task = import_string(job.task)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(
                    job=job.name,
                    scheduled_for=scheduled_for,
                    claimed_at=timezone.now(),
                    claimed_by=scheduler_id,
                )
        except IntegrityError:
            return False
        result = task.enqueue()
        ScheduledRun.objects.filter(pk=run.pk).update(task_id=str(result.id)[:64])
    return True


class Scheduler:
    def __init__(self, jobs: list[Job], scheduler_id: str | None = None):
        self.scheduler_id = scheduler_id or (
            f"planif-{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self.jobs = jobs
        self.started_at = timezone.now()
        self.runs_claimed = 0
        self.outages = 0
        self.last_prune = 0.0
        # One thread: the jobs only claim and enqueue (milliseconds); the worker does the work.
        self.scheduler = BlockingScheduler(
            timezone=settings.TIME_ZONE,
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )
        self.triggers: dict[str, CronTrigger] = {}
        for job in jobs:
            trigger = trigger_for(job.cron)
            self.triggers[job.name] = trigger
            self.scheduler.add_job(self.fire, trigger, args=[job], id=job.name, name=job.name)
        self.scheduler.add_job(
            self.beat,
            IntervalTrigger(seconds=HEARTBEAT_SECONDS, timezone=settings.TIME_ZONE),
            id="heartbeat",
            name="heartbeat",
            next_run_time=timezone.now(),
        )

    def next_runs(self) -> list[tuple[Job, datetime | None]]:
        now = timezone.now()
        return [(job, self.triggers[job.name].get_next_fire_time(None, now)) for job in self.jobs]

    def run(self) -> None:
        """Block until SIGINT or SIGTERM."""

        def stop(signum, frame):
            logger.info("Scheduler %s stops (signal %s)", self.scheduler_id, signum)
            self.scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("Scheduler %s starts (%d jobs)", self.scheduler_id, len(self.jobs))
        self.scheduler.start()

    # --- Jobs run by APScheduler ------------------------------------------------------

    def fire(self, job: Job) -> None:
        scheduled_for = scheduled_time(self.triggers[job.name], timezone.now())
        if scheduled_for is not None:
            self.attempt(job, scheduled_for, 1)

    def attempt(self, job: Job, scheduled_for: datetime, attempt: int) -> None:
        close_old_connections()
        try:
            if claim(job, scheduled_for, self.scheduler_id):
                self.runs_claimed += 1
                logger.info("Job %s for %s enqueued", job.name, scheduled_for.isoformat())
            else:
                logger.info(
                    "Job %s for %s already enqueued by another scheduler",
                    job.name,
                    scheduled_for.isoformat(),
                )
        except UNREACHABLE as error:
            self.outage(error)
            self.retry_later(job, scheduled_for, attempt)
        finally:
            close_old_connections()

    def retry_later(self, job: Job, scheduled_for: datetime, attempt: int) -> None:
        """Try the claim again after a growing delay, while this run is still the latest."""
        delay = min(2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        retry_at = timezone.now() + timedelta(seconds=delay)
        newer = self.triggers[job.name].get_next_fire_time(
            None, scheduled_for + timedelta(seconds=1)
        )
        if newer is not None and retry_at >= newer:
            logger.error(
                "Job %s for %s not enqueued (database unreachable); its next turn, %s, does it",
                job.name,
                scheduled_for.isoformat(),
                newer.isoformat(),
            )
            return
        logger.warning(
            "Job %s for %s: database unreachable; tried again in %.0f s",
            job.name,
            scheduled_for.isoformat(),
            delay,
        )
        self.scheduler.add_job(
            self.attempt,
            DateTrigger(retry_at),
            args=[job, scheduled_for, attempt + 1],
            id=f"{job.name}-retry",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def beat(self) -> None:
        close_old_connections()
        try:
            SchedulerHeartbeat.objects.update_or_create(
                scheduler_id=self.scheduler_id,
                defaults={
                    "host": socket.gethostname()[:255],
                    "pid": os.getpid(),
                    "started_at": self.started_at,
                    "beat_at": timezone.now(),
                    "runs_claimed": self.runs_claimed,
                    "outages": self.outages,
                },
            )
            self.prune()
        except UNREACHABLE as error:
            self.outage(error)
        finally:
            close_old_connections()

    def prune(self) -> None:
        """Hourly: forget the heartbeats of schedulers gone for a day, and old claims."""
        now = time.monotonic()
        if self.last_prune and now - self.last_prune < 3600:
            return
        self.last_prune = now
        SchedulerHeartbeat.objects.filter(beat_at__lt=timezone.now() - timedelta(days=1)).delete()
        ScheduledRun.objects.filter(scheduled_for__lt=timezone.now() - KEEP_RUNS).delete()

    def outage(self, error: Exception) -> None:
        self.outages += 1
        text = str(error).strip()
        logger.warning(
            "Database unreachable (%s: %s); scheduler %s goes on",
            error.__class__.__name__,
            text.splitlines()[0] if text else "",
            self.scheduler_id,
        )
        ResilientWorker.forget_connections()


def scheduler_health() -> dict[str, object]:
    """What /readyz says of the schedulers: alive, silent (none beat lately) or absent."""
    newest = SchedulerHeartbeat.objects.order_by("-beat_at").first()
    alive = SchedulerHeartbeat.objects.filter(beat_at__gte=timezone.now() - SILENT_AFTER).count()
    if alive:
        state = "ok"
    else:
        state = "silencieux" if newest else "absent"
    return {
        "scheduler": state,
        "schedulers_alive": alive,
        "scheduler_last_heartbeat": newest.beat_at.isoformat() if newest else None,
    }
