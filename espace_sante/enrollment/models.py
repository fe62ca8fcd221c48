"""The opt-out lifecycle's records: campaigns, beneficiaries, codes, transitions.

Nothing here is health data: these are the insurer's administrative traits
and the history of each space's state. ``Person.space_state`` (identity) is
the current state; ``SpaceTransition`` is every change of it, written by
``services.transition`` only.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from espace_sante.identity.models import Person, SpaceState


def default_objection_days() -> int:
    return settings.ENROLLMENT_OBJECTION_DAYS


class Campaign(models.Model):
    """Information of every beneficiary of one département, from a start date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField("nom", max_length=100, unique=True)
    department = models.CharField("département", max_length=3)
    start_date = models.DateField("début des envois")
    objection_days = models.PositiveIntegerField(
        "délai d'opposition (jours)", default=default_objection_days
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "campagne"
        ordering = ["-start_date", "name"]

    def __str__(self) -> str:
        return self.name


class Beneficiary(models.Model):
    """One person of a campaign, and how their information went out."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Courriel"
        LETTER = "letter", "Courrier postal"

    class Delivery(models.TextChoices):
        PENDING = "pending", "À envoyer"
        EMAIL_SENT = "email_sent", "Courriel envoyé"
        LETTER_PRINTED = "letter_printed", "Courrier imprimé"
        NOT_ELIGIBLE = "not_eligible", "Espace déjà existant"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: unique_beneficiary (campaign, person) and the
    # indexes below already serve these look-ups, and each index is written
    # once per imported line.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="beneficiaries", db_index=False
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="beneficiaries", db_index=False
    )
    card_serial = models.CharField("numéro de série de la carte Vitale", max_length=12)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    delivery = models.CharField(
        max_length=16, choices=Delivery.choices, default=Delivery.PENDING
    )  # looked up with the campaign: see the (campaign, delivery) index
    email_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    letter_batch = models.ForeignKey(
        "LetterBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="letters"
    )
    # When the information went out; the space is created automatically at
    # auto_create_after unless the person activated or objected before.
    informed_at = models.DateTimeField(null=True, blank=True)
    auto_create_after = models.DateTimeField(null=True, blank=True)
    line = models.PositiveIntegerField("ligne du fichier", default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "bénéficiaire"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="unique_beneficiary"),
        ]
        indexes = [
            models.Index(fields=["campaign", "delivery"]),
            models.Index(fields=["auto_create_after"]),
            models.Index(fields=["person"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} ({self.campaign_id})"


class ProvisionalCode(models.Model):
    """A single-use code to activate or object; only its HMAC is kept."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="provisional_codes")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["person", "-created_at"])]

    def __str__(self) -> str:
        return f"code {self.pk} de {self.person_id}"


class CodeGuard(models.Model):
    """Wrong provisional codes typed for one person, and the lock they lead to."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, primary_key=True)
    failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.person_id}: {self.failures} échec(s)"


class SpaceTransition(models.Model):
    """One change of a person's space state; the table is the lifecycle's history."""

    class Event(models.TextChoices):
        IMPORTED = "imported", "Importé d'un fichier de bénéficiaires"
        ACTIVATED = "activated", "Activation par la personne"
        OBJECTED = "objected", "Opposition à la création"
        AUTO_CREATED = "auto_created", "Création automatique"
        REQUESTED = "requested", "Création demandée après opposition"
        CLOSED = "closed", "Fermeture"
        REOPENED = "reopened", "Réouverture"
        SUSPENDED = "suspended", "Suspension"
        RESUMED = "resumed", "Fin de la suspension"
        DELETED = "deleted", "Suppression définitive"

    id = models.BigAutoField(primary_key=True)
    # Indexed by (patient, at) below, which serves look-ups by patient alone.
    patient = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="space_transitions", db_index=False
    )
    event = models.CharField(max_length=16, choices=Event.choices)
    from_state = models.CharField(max_length=16, choices=SpaceState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=SpaceState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "changement d'état"
        indexes = [models.Index(fields=["patient", "at"]), models.Index(fields=["event", "at"])]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.from_state or '—'} → {self.to_state}"


class Closure(models.Model):
    """A closed space: archived until purge_after, then deleted by a task."""

    patient = models.OneToOneField(Person, on_delete=models.CASCADE, primary_key=True)
    closed_at = models.DateTimeField(default=timezone.now)
    purge_after = models.DateTimeField()
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["purge_after"])]

    def __str__(self) -> str:
        return f"{self.patient_id} fermé le {self.closed_at:%Y-%m-%d}"


class LetterBatch(models.Model):
    """One PDF of many letters (one page per person) for the printer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="letter_batches")
    file_name = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.count} courriers du {self.created_at:%Y-%m-%d %H:%M}"


class ImportReport(models.Model):
    """One import of a beneficiary file: counts and the lines refused."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="imports")
    file_name = models.CharField(max_length=200)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    lines = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    already_present = models.PositiveIntegerField(default=0)
    not_eligible = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"


class RefusedLine(models.Model):
    """A line of a beneficiary file that was not imported, and why."""

    report = models.ForeignKey(ImportReport, on_delete=models.CASCADE, related_name="errors")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=300)

    class Meta:
        ordering = ["line", "id"]

    def __str__(self) -> str:
        return f"ligne {self.line} : {self.message}"
