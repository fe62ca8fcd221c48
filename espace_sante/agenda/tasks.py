"""The agenda's background work, run by the worker; the scheduler enqueues it each morning."""

from django.utils import timezone
from django_tasks import task

from . import reminders


@task()
def daily_reminders() -> int:
    """Today's reminders: tomorrow's appointments and prevention due (docs/agenda.md)."""
    return reminders.daily_reminders(timezone.localdate())
