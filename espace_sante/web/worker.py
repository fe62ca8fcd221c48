"""The background-task worker that outlives database outages.

django-tasks-db's own worker exits on the first `OperationalError` that is not a
locked SQLite file, and marks a task that lost the database as failed for good:
invitations, automatic creations, notifications and purges then stop silently.
This worker keeps the library's queue and task running, but:

- waits and retries with a growing delay (1 s up to `max_backoff`) when the
  database does not answer, and never exits because of it;
- puts back in the queue a task that lost the database while it ran (its own
  claimed rows, or a row marked failed with a database error), up to
  `MAX_ATTEMPTS` claims; our tasks are idempotent, so running one again after an
  interruption does not do its work twice;
- writes a heartbeat row that `/readyz` reads, so a silent worker shows;
- puts back in the queue the tasks a worker that died without a word (kill -9,
  out of memory, power cut) left RUNNING: the library leaves them so for ever
  (django-tasks issue #46), and the work they stood for never happened.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
)
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from .models import WorkerHeartbeat

logger = logging.getLogger("espace_sante.worker")

# Errors that mean "the database is unreachable or went away", not "the task is wrong".
UNREACHABLE = (OperationalError, InterfaceError)
UNREACHABLE_PATHS = {f"{cls.__module__}.{cls.__qualname__}" for cls in UNREACHABLE} | {
    # What the drivers raise underneath, as recorded in a failed row's class path.
    "psycopg.OperationalError",
    "psycopg.errors.AdminShutdown",
    "psycopg.InterfaceError",
    "sqlite3.OperationalError",
}
# A task interrupted this many times is left failed, so a task that itself
# breaks the connection cannot loop for ever.
MAX_ATTEMPTS = 10
HEARTBEAT_SECONDS = 10
# A worker beats between tasks; one running a long purge may be quiet a while.
SILENT_AFTER = timedelta(seconds=120)
# A worker that has not beaten for this long is taken for dead and its running task is
# queued again. Longer than any task runs: a worker beats only between tasks, and a task
# taken back from a live worker would run twice (harmless, our tasks are idempotent, but
# wasted). On this host the process itself is looked for first, without waiting.
ABANDONED_AFTER = timedelta(hours=1)


class ResilientWorker(Worker):
    def __init__(self, *, max_backoff: float = 30.0, **kwargs):
        super().__init__(**kwargs)
        self.max_backoff = max_backoff
        self.started_at = timezone.now()
        self.last_beat = 0.0
        self.last_reclaim = 0.0
        self.outages = 0
        # The task claimed by this worker and not yet recorded as finished.
        self.claimed: DBTaskResult | None = None

    def run(self) -> None:
        logger.info("Worker %s starts (queues: %s)", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreads workers started together
        delay = 1.0
        while self.running:
            try:
                if self.step():
                    return
                delay = 1.0
            except UNREACHABLE as error:
                if isinstance(error, OperationalError) and is_locked_database_exception(error):
                    continue
                self.outages += 1
                logger.warning(
                    "Database unreachable (%s: %s); worker %s retries in %.0f s",
                    error.__class__.__name__,
                    str(error).strip().splitlines()[0] if str(error).strip() else "",
                    self.worker_id,
                    delay,
                )
                self.forget_connections()
                self.last_beat = 0.0  # say it as soon as the database is back
                if not self.running:
                    return
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff)

    def step(self) -> bool:
        """One turn of the loop; True when the worker is done (batch or max tasks)."""
        close_old_connections()
        self.requeue_interrupted()
        self.reclaim_abandoned()  # before the first beat: it may overwrite a dead twin's row
        self.beat()
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(self.worker_id)
        if task_result is not None:
            self.claimed = task_result
            self.run_task(task_result)
            self.requeue_if_unreachable(task_result)
            self.claimed = None
        if self.batch and task_result is None:
            logger.info("No more tasks for worker %s; it stops.", self.worker_id)
            return True
        if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
            return True
        close_old_connections()
        if self.running and task_result is None:
            time.sleep(self.interval)
        return False

    def requeue_interrupted(self) -> None:
        """The task this worker claimed and could not record because the database went away."""
        if self.claimed is None:
            return
        result = DBTaskResult.objects.filter(id=self.claimed.id).first()
        if result is not None and result.status == "RUNNING":
            self.requeue(result)
        elif result is not None:
            self.requeue_if_unreachable(result)
        self.claimed = None

    def requeue_if_unreachable(self, result: DBTaskResult) -> None:
        result.refresh_from_db(fields=["status", "exception_class_path", "worker_ids"])
        if result.status == "FAILED" and result.exception_class_path in UNREACHABLE_PATHS:
            self.requeue(result)

    def requeue(self, result: DBTaskResult) -> None:
        if len(result.worker_ids) >= MAX_ATTEMPTS:
            logger.error(
                "Task %s (%s) lost the database %d times; left failed",
                result.id,
                result.task_path,
                len(result.worker_ids),
            )
            if result.status == "RUNNING":
                result.set_failed(OperationalError("database unreachable while the task ran"))
            return
        logger.warning("Task %s (%s) lost the database; queued again", result.id, result.task_path)
        DBTaskResult.objects.filter(id=result.id).update(
            status="READY", started_at=None, finished_at=None, exception_class_path="", traceback=""
        )

    def reclaim_abandoned(self) -> None:
        """Queue again the tasks left RUNNING by a worker that is gone.

        The worker that claimed a task last is gone when it has not beaten for
        ``ABANDONED_AFTER`` or, on this host, when its process no longer exists (or is
        a zombie, or this one under another worker id); a running task under this worker's
        own id is a previous life's (ids are unique among live workers). Checked at
        start and with each heartbeat. Taken back only if no one claimed it since
        (``started_at`` unchanged), so two workers reclaiming at once queue it once.
        """
        now = time.monotonic()
        if self.last_reclaim and now - self.last_reclaim < HEARTBEAT_SECONDS:
            return
        self.last_reclaim = now
        running = DBTaskResult.objects.filter(status="RUNNING", backend_name=self.backend_name)
        for result in running.only("id", "task_path", "worker_ids", "started_at"):
            owner = result.worker_ids[-1] if result.worker_ids else ""
            if owner != self.worker_id and not self._gone(owner, result.started_at):
                continue
            unchanged = DBTaskResult.objects.filter(
                id=result.id, status="RUNNING", started_at=result.started_at
            )
            if len(result.worker_ids) >= MAX_ATTEMPTS:
                logger.error(
                    "Task %s (%s) interrupted %d times; left failed",
                    result.id,
                    result.task_path,
                    len(result.worker_ids),
                )
                unchanged.update(
                    status="FAILED",
                    finished_at=timezone.now(),
                    exception_class_path="espace_sante.web.worker.WorkerGone",
                    traceback="The worker running this task died, too many times.",
                )
                continue
            if unchanged.update(status="READY", started_at=None, finished_at=None):
                logger.warning(
                    "Task %s (%s) abandoned by worker %s, which is gone; queued again",
                    result.id,
                    result.task_path,
                    owner,
                )

    @staticmethod
    def _gone(worker_id: str, started_at) -> bool:
        heartbeat = WorkerHeartbeat.objects.filter(worker_id=worker_id).first()
        if heartbeat is None:  # it beats before it claims: a row deleted after a day
            return started_at is None or started_at < timezone.now() - ABANDONED_AFTER
        if heartbeat.beat_at < timezone.now() - ABANDONED_AFTER:
            return True
        if heartbeat.host == socket.gethostname()[:255]:
            return not _process_exists(heartbeat.pid, heartbeat.started_at)
        return False

    def beat(self) -> None:
        now = time.monotonic()
        if now - self.last_beat < HEARTBEAT_SECONDS:
            return
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "beat_at": timezone.now(),
                "tasks_done": self._run_tasks,
                "outages": self.outages,
            },
        )
        if self.outages == 0 and not self.last_beat:
            # Rows of workers gone for a day are history, not news.
            WorkerHeartbeat.objects.filter(beat_at__lt=timezone.now() - timedelta(days=1)).delete()
        self.last_beat = now

    @staticmethod
    def forget_connections() -> None:
        """Drop broken connections so the next turn opens new ones."""
        for connection in connections.all(initialized_only=True):
            try:
                connection.close()
            except DatabaseError:
                connection.connection = None


def _process_exists(pid: int | None, worker_started_at: datetime) -> bool:
    """The worker's process is still there (not a later process that got its pid)."""
    if not pid or pid == os.getpid():  # this process runs under another worker id now
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    state, began = _process_state(pid)
    if state == "Z":  # killed, not yet reaped by its parent: dead all the same
        return False
    # The worker notes its start after Python and Django are loaded: its process began
    # before; one that began later reused the pid (a minute of slack for clock steps).
    return began is None or began <= worker_started_at + timedelta(minutes=1)


def _process_state(pid: int) -> tuple[str, datetime | None]:
    """The process's state letter and start, from /proc (Linux); ("", None) elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = int(fields[19])  # field 22, starttime, counted after the name
    except (OSError, StopIteration, IndexError, ValueError):
        return "", None
    return fields[0], datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), tz=UTC)


def worker_health() -> dict[str, object]:
    """What /readyz says of the workers: alive, silent (none beat lately) or absent."""
    newest = WorkerHeartbeat.objects.order_by("-beat_at").first()
    alive = WorkerHeartbeat.objects.filter(beat_at__gte=timezone.now() - SILENT_AFTER).count()
    if alive:
        state = "ok"
    else:
        state = "silencieux" if newest else "absent"
    return {
        "worker": state,
        "workers_alive": alive,
        "worker_last_heartbeat": newest.beat_at.isoformat() if newest else None,
    }
