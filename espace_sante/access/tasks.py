from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from . import digest, emails, seals


@task()
def send_access_notification(notification_id: str) -> bool:
    """Send one access email (idempotent: a notification already sent is not sent again)."""
    return emails.deliver(notification_id)


@task()
def send_notification_digests() -> int:
    """Send the daily digests owed now (scheduled every quarter of an hour; idempotent)."""
    return digest.send_digests()


@task()
def seal_audit_trail(every_seconds: int = 0) -> int:
    """Seal the chain heads (``seals.seal``); again in ``every_seconds`` if positive.

    Returns the seal's number. A refused seal (the trail does not verify)
    raises, so the failure shows in the task's result and the log; the next
    run is enqueued all the same.
    """
    try:
        return seals.seal().number
    finally:
        # Even after a refused seal: the next attempt, and its alarm, must come.
        if every_seconds > 0:
            later = timezone.now() + timedelta(seconds=every_seconds)
            seal_audit_trail.using(run_after=later).enqueue(every_seconds)
