"""Documents of the medical record: metadata in clear, content encrypted.

Only what must be filtered on stays in clear (type, class, category, dates,
author, status, visibility flags); titles, descriptions and bytes are
encrypted with the patient's keys (crypto.services), bound to the row id.
Every table starts its indexes with ``patient`` (sharding column).
"""

import uuid

from django.db import models
from django.utils import timezone

from espace_sante.access.owned import PatientOwned
from espace_sante.identity.models import Organization, Person, Professional

__all__ = ["Document", "DocumentEvent", "DepositKey"]


class Document(PatientOwned):
    class Source(models.TextChoices):
        PROFESSIONAL = "professional", "Logiciel d'un professionnel"
        PATIENT = "patient", "Vous-même"
        MESSAGING = "messaging", "Messagerie"
        APP = "app", "Application connectée"
        INSURER = "insurer", "Assurance maladie"
        SERVICE = "service", "espace-santé"

    class Status(models.TextChoices):
        CURRENT = "current", "Actif"
        SUPERSEDED = "superseded", "Remplacé"
        WITHDRAWN = "withdrawn", "Retiré"

    class Confidentiality(models.TextChoices):
        NORMAL = "N", "Normal"
        RESTRICTED = "R", "Restreint"
        VERY_RESTRICTED = "V", "Très restreint"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="documents")
    type_code = models.CharField(max_length=16)
    class_code = models.CharField(max_length=4)
    category = models.CharField(max_length=16)
    title_encrypted = models.BinaryField()
    format_code = models.CharField(max_length=64)
    mime_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(help_text="Taille du contenu en clair, en octets.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 du contenu en clair.")
    blob_name = models.CharField(max_length=200, unique=True)
    # CDA N3 documents keep their XML; its narrative is rendered for reading.
    is_structured = models.BooleanField(default=False)

    source = models.CharField(max_length=16, choices=Source.choices)
    author_professional = models.ForeignKey(
        Professional, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    master_identifier = models.CharField(
        max_length=200, blank=True, help_text="Identifiant du document chez son producteur."
    )

    created_at = models.DateTimeField("déposé le", auto_now_add=True)
    document_date = models.DateTimeField("date du document")
    service_start = models.DateTimeField(null=True, blank=True)
    service_end = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CURRENT)
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    confidentiality = models.CharField(
        max_length=1, choices=Confidentiality.choices, default=Confidentiality.NORMAL
    )
    masked_from_professionals = models.BooleanField(default=False)  # MASQUE_PS
    invisible_patient = models.BooleanField(default=False)  # INVISIBLE_PATIENT
    invisible_representatives = models.BooleanField(default=False)  # INVISIBLE_REPRESENTANTS_LEGAUX
    seen_by_patient_at = models.DateTimeField(null=True, blank=True)
    # PDSm isArchived: the producer archived it; it stays readable (FHIR metadata updates).
    archived = models.BooleanField(default=False)
    # FHIR context of a professional document (codes, no free text: kept in clear to be
    # searchable, like type_code). The events, as "system|code", are shown from event_codes
    # (no query when rendering a page) and searched through their DocumentEvent rows.
    facility_type_system = models.CharField(max_length=200, blank=True)
    facility_type_code = models.CharField(max_length=64, blank=True)
    practice_setting_system = models.CharField(max_length=200, blank=True)
    practice_setting_code = models.CharField(max_length=64, blank=True)
    event_codes = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "document"
        indexes = [
            models.Index(fields=["patient", "status", "-document_date"], name="doc_patient_recent"),
            models.Index(fields=["patient", "category"], name="doc_patient_category"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "master_identifier"],
                condition=~models.Q(master_identifier=""),
                name="doc_unique_master_identifier",
            ),
        ]

    def __str__(self) -> str:
        return f"Document {self.id} ({self.type_code})"

    @property
    def is_patient_owned(self) -> bool:
        return self.source in (self.Source.PATIENT, self.Source.MESSAGING, self.Source.SERVICE)

    @property
    def security_labels(self) -> list[str]:
        labels = [self.confidentiality]
        if self.masked_from_professionals:
            labels.append("MASQUE_PS")
        if self.invisible_patient:
            labels.append("INVISIBLE_PATIENT")
        if self.invisible_representatives:
            labels.append("INVISIBLE_REPRESENTANTS_LEGAUX")
        return labels

    def source_for_professionals(self) -> str:
        """The origin as a professional reads it: « Vous-même » is the patient's own word."""
        if self.source == self.Source.PATIENT:
            return "Le patient (ou son représentant)"
        return self.get_source_display()


class DocumentEvent(PatientOwned):
    """One ``context.event`` code of a document (e.g. an act): a row each, so it can be searched."""

    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    system = models.CharField(max_length=200, blank=True)
    code = models.CharField(max_length=64)

    class Meta:
        verbose_name = "événement d'un document"
        indexes = [models.Index(fields=["patient", "code"], name="docevent_patient_code")]

    def __str__(self) -> str:
        return f"{self.system}|{self.code}"


class DepositKey(PatientOwned):
    """An idempotency key of a deposit: the same request sent again lands once.

    Software sends ``Idempotency-Key`` with ``POST DocumentReference``; the
    citizen's upload form carries a one-time token. A key is its sender's
    (``sender``: ``fhir:<client id>`` or ``user:<user id>``) and lives
    ``RECORD_IDEMPOTENCY_HOURS`` (24 h); ``fingerprint`` (SHA-256 of the
    request) tells a retry from another request reusing the key.
    """

    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    sender = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    created = models.BooleanField()  # the first answer created the document (201), or found it
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "clé d'idempotence d'un dépôt"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "sender", "key"], name="depositkey_patient_sender_key"
            )
        ]
        indexes = [
            # A key reused by its sender for another patient is refused too.
            models.Index(fields=["sender", "key"], name="depositkey_sender_key"),
            # The purge of expired keys, across patients.
            models.Index(fields=["created_at"], name="depositkey_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.sender} {self.key}"
