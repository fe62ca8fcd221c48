"""The daily reminder job: tomorrow's appointments, and prevention reminders that fell due.

Run once a day by the scheduler (``web.schedule``); safe to run twice or on two
workers: each appointment is reminded once (``reminded_on``, claimed under a row
lock), each person is looked at once a day (``ReminderSchedule``, claimed the
same way). What reaches the person is a notification without health content,
grouped into the day's digest (``access.notifications.notify``).

Not every space is forecast every day: a person's ``next_check_on`` is the first
day one of their reminders may fall due, so a day's work is the persons whose
day has come (about 1 % of them), found by an index on that date.
"""

import logging
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from espace_sante.access import notifications
from espace_sante.access.policy import SYSTEM, NotAllowed
from espace_sante.identity.models import OPEN_SPACE_STATES, Person

from . import services
from .models import Appointment, ReminderSchedule
from .prevention import TO_DO

logger = logging.getLogger(__name__)

BATCH = 500


def daily_reminders(today: date | None = None) -> int:
    """Queue today's notifications; the number of persons told of something."""
    today = today or timezone.localdate()
    enrolled = enrol_new_spaces(today)
    appointments = remind_appointments(today)
    prevention = remind_prevention(today)
    logger.info(
        "Rappels du %s : %d nouveaux espaces suivis, %d rendez-vous, %d rappels de prévention",
        today.isoformat(),
        enrolled,
        appointments,
        prevention,
    )
    return appointments + prevention


def enrol_new_spaces(today: date, batch: int = 5000) -> int:
    """Give every open space without a schedule one for today (its first forecast)."""
    created = 0
    while True:
        missing = list(
            # NOT EXISTS, not NOT IN: PostgreSQL turns it into an anti-join, where
            # NOT IN (subquery) rescans the million schedules for every space once
            # they no longer fit in work_mem.
            Person.objects.filter(space_state__in=OPEN_SPACE_STATES)
            .exclude(Exists(ReminderSchedule.objects.filter(patient_id=OuterRef("pk"))))
            .values_list("id", flat=True)[:batch]
        )
        if not missing:
            return created
        ReminderSchedule.objects.bulk_create(
            [ReminderSchedule(patient_id=pk, next_check_on=today) for pk in missing],
            ignore_conflicts=True,  # another worker enrolled them first
        )
        created += len(missing)


def _paris_day(day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def remind_appointments(today: date) -> int:
    """One notification per booked appointment of tomorrow (Paris days), once."""
    start, end = _paris_day(today + timedelta(days=1))
    told = 0
    while True:
        with transaction.atomic():
            # Two workers never take the same rows (SQLite has a single writer).
            rows = list(
                Appointment.objects.filter(
                    starts_at__gte=start,
                    starts_at__lt=end,
                    status=Appointment.Status.BOOKED,
                    reminded_on__isnull=True,
                )
                .order_by("starts_at")
                .select_for_update(skip_locked=True)
                .only("id", "patient_id")[:BATCH]
            )
            if not rows:
                return told
            for row in rows:
                if notifications.notify(row.patient_id, "appointment") is not None:
                    told += 1
            Appointment.objects.filter(pk__in=[row.pk for row in rows]).update(reminded_on=today)


def remind_prevention(today: date) -> int:
    """Forecast the persons whose day has come; tell those with a newly due reminder."""
    told = 0
    while True:
        with transaction.atomic():
            due = list(
                ReminderSchedule.objects.filter(
                    next_check_on__lte=today, patient__space_state__in=OPEN_SPACE_STATES
                )
                .order_by("next_check_on")
                .select_related("patient")
                .select_for_update(skip_locked=True, of=("self",))[:BATCH]
            )
            if not due:
                return told
            for schedule in due:
                told += _check(schedule, today)


def _check(schedule: ReminderSchedule, today: date) -> int:
    """Forecast one person, notify if a reminder fell due since the last time, reschedule."""
    try:
        reminders = services.prevention_forecast(SYSTEM, schedule.patient, today).reminders
    except NotAllowed:
        reminders = []
    due = [one.due for one in reminders if one.status == TO_DO]
    fresh = any(schedule.notified_on is None or day > schedule.notified_on for day in due)
    told = 0
    if fresh and notifications.notify(schedule.patient_id, "prevention") is not None:
        told = 1
    if fresh:
        schedule.notified_on = today
    enabled = services.prevention_enabled(schedule.patient)
    schedule.next_check_on = services.next_check(reminders, today) if enabled else None
    schedule.save(update_fields=["next_check_on", "notified_on"])
    return told
