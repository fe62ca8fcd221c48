from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of each background-task worker, read by /readyz."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    tasks_done = models.PositiveIntegerField(default=0)
    # Database outages the worker waited through since it started.
    outages = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.host} (pid {self.pid})"


class ScheduledRun(models.Model):
    """One run of a periodic job, claimed by the scheduler that enqueued it.

    The unique (job, scheduled_for) pair is what makes each run happen once with
    several schedulers: the first to insert the row enqueues the task in the same
    transaction; the others hit the constraint and do nothing.
    """

    job = models.CharField(max_length=64)
    scheduled_for = models.DateTimeField()
    claimed_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=64)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "scheduled_for"], name="one_run_per_schedule")
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.scheduled_for:%Y-%m-%d %H:%M:%S}"


class SchedulerHeartbeat(models.Model):
    """The last sign of life of each scheduler process, read by /readyz."""

    scheduler_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    runs_claimed = models.PositiveIntegerField(default=0)
    # Database outages the scheduler lived through since it started.
    outages = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.scheduler_id} on {self.host} (pid {self.pid})"
