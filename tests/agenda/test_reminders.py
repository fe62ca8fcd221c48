"""The daily reminder job: tomorrow's appointments and newly due prevention reminders, once."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from espace_sante.access.models import AuditEntry, PendingNotification
from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import reminders, services
from espace_sante.agenda.models import Appointment, ReminderSchedule
from espace_sante.identity.models import Person, SpaceState
from tests.personas import make_person

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 12, 1)


def _pending(person, kind):
    return PendingNotification.objects.filter(patient=person, kind=kind).count()


def _appointment(person, when):
    row = Appointment(patient=person, starts_at=when, source="patient", reason="Dentiste")
    row.save()
    return row


def test_an_appointment_tomorrow_is_reminded_once_and_today_or_later_ones_are_not():
    marie = make_person(first_names="Marie", birth_name="DURAND", birth=date(1988, 4, 12))
    tomorrow_late = _appointment(marie, datetime(2026, 12, 2, 23, 30, tzinfo=PARIS))
    _appointment(marie, datetime(2026, 12, 3, 0, 0, tzinfo=PARIS))  # the day after
    _appointment(marie, datetime(2026, 12, 1, 18, 0, tzinfo=PARIS))  # today: too late to remind

    reminders.remind_appointments(TODAY)
    reminders.remind_appointments(TODAY)  # a second run (a retry, another worker)

    assert _pending(marie, "appointment") == 1
    tomorrow_late.refresh_from_db()
    assert tomorrow_late.reminded_on == TODAY


def test_a_cancelled_appointment_is_not_reminded():
    marie = make_person(first_names="Marie", birth_name="DURAND", birth=date(1988, 4, 12))
    row = _appointment(marie, datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))
    services.cancel_appointment(actor_for_user(marie.user), marie, row.id)
    reminders.remind_appointments(TODAY)
    assert _pending(marie, "appointment") == 0


def test_a_new_space_is_forecast_and_told_once_of_what_is_due():
    # prevention.md: a woman of 52 is invited to a mammography every two years.
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1974, 3, 3))
    reminders.daily_reminders(TODAY)
    reminders.daily_reminders(TODAY)
    assert _pending(odette, "prevention_reminder") == 1
    schedule = ReminderSchedule.objects.get(patient=odette)
    assert schedule.notified_on == TODAY
    assert TODAY < schedule.next_check_on <= date(2027, 1, 1)
    # The next day nothing new fell due: nobody is told again.
    reminders.daily_reminders(TODAY + timedelta(days=1))
    assert _pending(odette, "prevention_reminder") == 1


def test_only_persons_whose_day_has_come_are_forecast():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1974, 3, 3))
    ReminderSchedule.objects.create(patient=odette, next_check_on=TODAY + timedelta(days=10))
    reminders.remind_prevention(TODAY)
    assert _pending(odette, "prevention_reminder") == 0
    assert not AuditEntry.objects.filter(patient_id=odette.id, actor_kind="system").exists()


def test_a_reminder_falling_due_later_is_told_on_its_day():
    # prevention.md: Mon bilan prévention from 45 (to 50). Born 1981-12-20, 45 on 2026-12-20.
    paul = make_person(first_names="Paul", birth_name="MARTIN", sex="M", birth=date(1981, 12, 20))
    reminders.daily_reminders(TODAY)
    told = _pending(paul, "prevention_reminder")
    schedule = ReminderSchedule.objects.get(patient=paul)
    assert schedule.next_check_on <= date(2026, 12, 20)
    reminders.daily_reminders(date(2026, 12, 20))
    assert _pending(paul, "prevention_reminder") == told + 1


def test_prevention_turned_off_sends_nothing_and_is_not_looked_at_again():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1974, 3, 3))
    services.set_prevention_enabled(actor_for_user(odette.user), odette, False)
    reminders.daily_reminders(TODAY)
    assert _pending(odette, "prevention_reminder") == 0
    assert ReminderSchedule.objects.get(patient=odette).next_check_on is None


def test_a_closed_space_is_not_forecast():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1974, 3, 3))
    Person.objects.filter(pk=odette.pk).update(space_state=SpaceState.CLOSED)
    reminders.daily_reminders(TODAY)
    assert _pending(odette, "prevention_reminder") == 0
