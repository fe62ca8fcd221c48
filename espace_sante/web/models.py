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
