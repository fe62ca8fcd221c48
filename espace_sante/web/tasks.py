"""Periodic tasks that belong to no single app (scheduled by ``web/schedule.py``)."""

import logging

from django.utils import timezone
from django_tasks import task

logger = logging.getLogger("espace_sante.scheduler")


@task()
def agenda_daily_reminders() -> int:
    """The agenda's daily reminders (appointments tomorrow, prevention due), for today.

    ``agenda.services.daily_reminders(today)`` calls ``notifications.notify`` for each
    person to remind; the digest sends them. Guarded until the agenda provides it
    (merge of issue 13): absent, this logs and does nothing.
    """
    from espace_sante.agenda import services

    daily_reminders = getattr(services, "daily_reminders", None)
    if daily_reminders is None:
        logger.warning("agenda.services.daily_reminders does not exist yet: no reminder today")
        return 0
    return int(daily_reminders(timezone.localdate()) or 0)


@task()
def create_due_spaces() -> int:
    """Create the spaces whose objection delay has passed (hourly safety net, idempotent).

    Not ``enrollment.tasks.create_due_spaces``: that one enqueues itself again for the next
    due time, and an hourly run of it would start a new chain every hour.
    """
    from espace_sante.enrollment import creation

    return creation.create_due_spaces()
