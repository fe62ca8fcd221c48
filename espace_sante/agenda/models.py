"""The agenda's tables: appointments, and what a person chose about their prevention reminders.

Rule 4, the host cannot read: what an appointment is about (reason, place, the
person seen as written) and a declared pregnancy are encrypted with the
patient's key (``Encrypted()``, as in the profile). In clear stay what lists and
the daily reminder job filter on: dates, status, who added it.
Rule 2: every table has a non-null ``patient`` and indexes that start with it;
the two the daily job scans across patients are listed, with their reason, in
``access.owned.ALLOWED_EXCEPTIONS``.
Rows are changed only through ``agenda.services``.
"""

import uuid
from datetime import date
from typing import ClassVar

from django.conf import settings
from django.db import models

from espace_sante.identity.models import Organization, Person, Professional
from espace_sante.identity.owned import PatientOwned
from espace_sante.record.profile.encrypted import Encrypted, ProfileEntry

# Mon bilan prévention: the answers to the self-questionnaires (their own module).
from .questionnaire_models import QuestionnaireResponse  # noqa: F401


class Appointment(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """A medical appointment in a person's agenda."""

    class Status(models.TextChoices):
        # FHIR Appointment.status values (http://hl7.org/fhir/appointmentstatus).
        BOOKED = "booked", "Prévu"
        CANCELLED = "cancelled", "Annulé"
        DONE = "fulfilled", "Passé"

    class Source(models.TextChoices):
        PATIENT = "patient", "vous"
        PROFESSIONAL = "professional", "un professionnel"
        APP = "app", "une application connectée"

    starts_at = models.DateTimeField()  # UTC
    # The zone the appointment was given in; shown in it (Europe/Paris for most).
    time_zone = models.CharField(max_length=64, default="Europe/Paris")
    duration_minutes = models.PositiveIntegerField(default=30)
    reason = Encrypted()
    place = Encrypted()
    with_whom = Encrypted()  # the professional or organisation, as the author wrote it
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    source = models.CharField(max_length=16, choices=Source.choices)
    # Who added it: the person's side (a user), a professional (portal or software,
    # with their organisation), or a connected app (its OAuth client id).
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_professional = models.ForeignKey(
        Professional, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_app = models.CharField(max_length=100, blank=True)
    author_name = models.CharField(max_length=200, blank=True)  # « Dr Martin », the app's name
    version = models.PositiveIntegerField(default=1)  # FHIR meta.versionId, ETag
    reminded_on = models.DateField(null=True, blank=True)  # the day-before reminder was queued

    class Meta:
        verbose_name = "rendez-vous"
        verbose_name_plural = "rendez-vous"
        indexes = [
            models.Index(fields=["patient", "starts_at"], name="agenda_appt_patient"),
            # The daily job's scan for tomorrow's appointments (all patients).
            models.Index(fields=["starts_at", "status"], name="agenda_appt_reminder"),
        ]

    title_field = "reason"

    @property
    def invisible_patient(self) -> bool:  # the policy's document-like interface
        return False

    @property
    def is_patient_owned(self) -> bool:
        return self.source == self.Source.PATIENT


class PreventionProfile(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """One per person who changed something: prevention on or off, a declared pregnancy."""

    enabled = models.BooleanField(default=True)
    pregnancy_start = Encrypted()  # ISO date of the declared start, or ""
    delivery_date = Encrypted()  # ISO date of the birth, or ""

    class Meta:
        verbose_name = "prévention personnalisée"
        verbose_name_plural = "préventions personnalisées"
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="agenda_prevention_one"),
        ]

    title_field = "pregnancy_start"

    @staticmethod
    def _date(text: str) -> date | None:
        return date.fromisoformat(text) if text else None

    @property
    def pregnancy_start_date(self) -> date | None:
        return self._date(self.pregnancy_start)

    @property
    def delivery_on(self) -> date | None:
        return self._date(self.delivery_date)


class ReminderSchedule(PatientOwned):
    """When the daily job looks at a person's reminders again: dates only, no content.

    ``next_check_on`` is the first day a reminder may fall due; the job forecasts
    again only the persons whose day has come (about 1 % a day), not every space.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="+")
    next_check_on = models.DateField(null=True, blank=True)  # None: prevention turned off
    notified_on = models.DateField(null=True, blank=True)  # the last prevention notification

    class Meta:
        verbose_name = "échéance des rappels"
        verbose_name_plural = "échéances des rappels"
        indexes = [models.Index(fields=["next_check_on"], name="agenda_schedule_next")]

    def __str__(self) -> str:
        return f"échéance {self.id}"


class PreventionChoice(PatientOwned):
    """A person's answer to one reminder: not concerned, or dismissed (until its next time)."""

    class Choice(models.TextChoices):
        NOT_CONCERNED = "not_concerned", "Pas concerné"
        DISMISSED = "dismissed", "Ignoré"

    kept_after_closing: ClassVar[str] = ""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", db_index=False)
    # The rule's stable id in agenda/data/prevention_rules.csv (a public calendar entry).
    rule_id = models.CharField(max_length=64)
    choice = models.CharField(max_length=16, choices=Choice.choices)
    made_on = models.DateField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "choix de prévention"
        verbose_name_plural = "choix de prévention"
        constraints = [
            models.UniqueConstraint(fields=["patient", "rule_id"], name="agenda_choice_one"),
        ]

    def __str__(self) -> str:
        return f"choix {self.id}"


class CalendarFeed(PatientOwned):
    """A person's secret calendar address (RFC 5545 feed); only its hash is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", db_index=False)
    token_hash = models.CharField(max_length=64)
    show_details = models.BooleanField(default=False)  # titles neutral unless opted in
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "agenda à synchroniser"
        verbose_name_plural = "agendas à synchroniser"
        indexes = [models.Index(fields=["patient", "created_at"], name="agenda_feed_patient")]

    def __str__(self) -> str:
        return f"agenda {self.id}"
