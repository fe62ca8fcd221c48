import uuid

from django.db import models
from django.utils import timezone

from espace_sante.identity.models import Person

from .owned import PatientOwned


class AuditEntry(PatientOwned):
    """One access to a patient's space, allowed or refused. Append-only.

    Written in the same transaction as the action it traces (``audit.record``),
    so an action that did not happen leaves no entry and one that did always
    does. Entries are hash-chained per patient: ``sequence`` counts 1, 2, 3…
    without gaps and each ``entry_hash`` covers every field, including the
    ``previous_hash`` of the entry before it, so that a deletion, an edit or a
    reordering breaks the chain (``espace-sante audit verify``). On PostgreSQL
    a trigger refuses UPDATE and DELETE on the table (migration 0002_audit_chain).
    """

    patient_field = "patient_id"
    kept_after_closing = "append-only proof of every access; no health content"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Autorisé"
        DENIED = "denied", "Refusé"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient_id = models.UUIDField()
    sequence = models.PositiveBigIntegerField("n° dans la chaîne du patient")
    # Set by audit.record before hashing (not auto_now_add, which would change
    # the value after the hash is computed).
    at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=16)
    actor_user_id = models.BigIntegerField(null=True)
    actor_person_id = models.UUIDField(null=True)
    actor_professional_id = models.UUIDField(null=True)
    actor_organization_id = models.UUIDField(null=True)
    # On whose behalf: an aidant's or a representative's link, a software client.
    acting_for = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.UUIDField(null=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    # Why the access was allowed (consent, care_team, medecin_traitant,
    # emergency_btg…), shown to the patient in plain French.
    mode = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    # How entry_hash is computed (chain.py): 1, SHA-256 (entries written before
    # the chain was keyed); 2, HMAC-SHA256 with the key ``key_id`` of the
    # keyring kept outside the database (audit_keys.py).
    chain_format = models.PositiveSmallIntegerField(default=1)
    key_id = models.CharField(max_length=16, blank=True, default="")
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "entrée du journal d'accès"
        verbose_name_plural = "journal d'accès"
        indexes = [models.Index(fields=["patient_id", "-at"], name="audit_patient_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient_id", "sequence"], name="audit_patient_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_kind} {self.action} {self.outcome}"


class AuditHead(PatientOwned):
    """The last link of a patient's chain: its sequence and hash.

    Updated in the same transaction as each new entry. It is the row writers
    lock (``SELECT … FOR UPDATE``) so that two writers on one patient cannot
    fork the chain, and it lets ``audit verify`` notice that the newest
    entries were deleted (a chain alone cannot tell a cut tail from an end).
    """

    patient_field = "patient_id"
    kept_after_closing = "the end of the patient's audit chain, kept with the chain"

    patient_id = models.UUIDField(primary_key=True)
    sequence = models.PositiveBigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "tête de chaîne du journal d'accès"
        verbose_name_plural = "têtes de chaîne du journal d'accès"

    def __str__(self) -> str:
        return f"{self.patient_id} n° {self.sequence}"


class AccessReport(PatientOwned):
    """« Je ne reconnais pas cet accès » : a patient's report, for operators."""

    class Status(models.TextChoices):
        NEW = "new", "Nouveau"
        HANDLED = "handled", "Traité"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="access_reports")
    # PROTECT: the entry is append-only anyway; a report never loses its subject.
    entry = models.ForeignKey(AuditEntry, on_delete=models.PROTECT, related_name="reports")
    comment = models.TextField("commentaire", blank=True)
    created_at = models.DateTimeField("signalé le", default=timezone.now)
    status = models.CharField("état", max_length=8, choices=Status.choices, default=Status.NEW)
    handled_at = models.DateTimeField("traité le", null=True, blank=True)
    operator_note = models.TextField("note de l'opérateur", blank=True)

    class Meta:
        verbose_name = "signalement d'accès"
        verbose_name_plural = "signalements d'accès"
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="report_patient"),
            models.Index(fields=["status", "-created_at"], name="report_status"),
        ]

    def __str__(self) -> str:
        return f"Signalement du {self.created_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class NotificationPreference(PatientOwned):
    """Whether the patient wants one kind of notification. No row: on (the default)."""

    class Kind(models.TextChoices):
        NEW_DOCUMENT = "new_document", "Un nouveau document est ajouté à mon dossier"
        NEW_MESSAGE = "new_message", "Je reçois un nouveau message"
        APPOINTMENT = "appointment", "Un rendez-vous approche"
        CONNECTED_SERVICE = "connected_service", "Un service connecté agit sur mon espace"
        PREVENTION = "prevention_reminder", "Un rappel de dépistage ou de vaccination"
        PROFESSIONAL_ACCESS = (
            "professional_access",
            "Un professionnel de santé consulte mon dossier",
        )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "préférence de notification"
        verbose_name_plural = "préférences de notification"
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind"], name="unique_notification_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} : {'oui' if self.enabled else 'non'}"


class AccessNotification(PatientOwned):
    """An email owed to someone about an access (outbox and throttle).

    Created in the transaction of the access; sent by a background task after
    commit. A row per patient, professional, kind and recipient and per hour
    at most: one consultation that lists and opens twenty documents sends one
    email, not twenty.
    """

    class Kind(models.TextChoices):
        ACCESS = "access", "Accès d'un professionnel"
        EMERGENCY = "emergency", "Accès d'urgence"

    class Recipient(models.TextChoices):
        PATIENT = "patient", "Le patient"
        MEDECIN_TRAITANT = "medecin_traitant", "Le médecin traitant"

    patient_field = "patient_id"
    kept_after_closing = "an outbox of ids and dates (no health content) its task may still read"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient_id = models.UUIDField()
    professional_id = models.UUIDField(null=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    recipient = models.CharField(max_length=16, choices=Recipient.choices)
    entry_id = models.UUIDField()
    accessed_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "notification d'accès"
        verbose_name_plural = "notifications d'accès"
        indexes = [
            models.Index(
                fields=["patient_id", "professional_id", "kind", "-created_at"],
                name="notification_throttle",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({'envoyée' if self.sent_at else 'à envoyer'})"


class PendingNotification(PatientOwned):
    """Something to tell the patient in the next daily digest (outbox row).

    No health content by construction: who, which kind, when. Never a document,
    its title or type. Sent at most once: ``sent_at`` and ``digest`` are set in the
    transaction that sends the digest (``access/digest.py``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationPreference.Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    digest = models.ForeignKey(
        "NotificationDigest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "notification en attente"
        verbose_name_plural = "notifications en attente"
        indexes = [
            models.Index(fields=["patient", "sent_at"], name="pending_notification"),
            # The digest job's look for who has something waiting: only the unsent rows.
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="notification_to_send",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({'envoyée' if self.sent_at else 'en attente'})"


class NotificationDigest(PatientOwned):
    """The one digest a patient receives on a day (Europe/Paris): unique per patient and day,
    so two workers, or a task run twice, never send a second one that day."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField()
    by_email = models.BooleanField(default=False)
    by_sms = models.BooleanField(default=False)

    class Meta:
        verbose_name = "récapitulatif de notifications"
        verbose_name_plural = "récapitulatifs de notifications"
        constraints = [
            models.UniqueConstraint(fields=["patient", "day"], name="one_digest_per_day")
        ]

    def __str__(self) -> str:
        return f"récapitulatif du {self.day:%d/%m/%Y}"


from .consent_models import *  # noqa: E402,F401,F403
from .grant_models import *  # noqa: E402,F401,F403
