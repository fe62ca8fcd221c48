"""Secure messaging between professionals and patients (services.md).

A conversation belongs to one patient (``patient``, the sharding column,
first in every index) and to one side: a professional writing for an
organisation, or an organisation's mailbox (a pharmacy). Subjects, bodies,
closing reasons, attachment names and bytes are encrypted with the patient's
keys; only what is filtered on stays in clear (dates, authors, states).
"""

import uuid

from django.db import models

from espace_sante.access.owned import PatientOwned
from espace_sante.identity.models import Organization, Person, Professional


def _optional_link(to: type[models.Model]) -> models.ForeignKey:
    """A person, professional or organisation, when there is one: kept while a row names it
    (PROTECT), without a reverse accessor (the directories do not list correspondence)."""
    return models.ForeignKey(to, null=True, blank=True, on_delete=models.PROTECT, related_name="+")


class Conversation(PatientOwned):
    class Kind(models.TextChoices):
        CARE = "care", "Message d'un professionnel"
        PRESCRIPTION = "prescription", "Ordonnance envoyée à une pharmacie"

    class ReplyMode(models.TextChoices):
        REPLY = "reply", "Le patient peut répondre"
        REPLIES_BLOCKED = "blocked", "Réponses bloquées"
        NO_REPLY = "none", "Message sans réponse"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="conversations")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CARE)
    subject_encrypted = models.BinaryField()
    # Who writes on the professionals' side: a professional (acting for an
    # organisation), or an organisation's mailbox (software, a pharmacy).
    sender_professional = _optional_link(Professional)
    organization = _optional_link(Organization)
    reply_mode = models.CharField(max_length=8, choices=ReplyMode.choices, default=ReplyMode.REPLY)
    started_by_patient = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = _optional_link(Professional)
    close_reason_encrypted = models.BinaryField(null=True, blank=True)
    # The patient deleted it from their space; the professionals' copy stays
    # until the retention period ends.
    patient_deleted_at = models.DateTimeField(null=True, blank=True)
    # The patient was told this conversation would be deleted for inactivity
    # (reset by any new message); deletion waits MESSAGING_RETENTION_WARNING_DAYS.
    retention_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "conversation"
        indexes = [
            models.Index(fields=["patient", "-last_message_at"], name="conv_patient_recent"),
            models.Index(fields=["sender_professional", "-last_message_at"], name="conv_pro"),
            models.Index(fields=["organization", "-last_message_at"], name="conv_organization"),
            models.Index(fields=["last_message_at"], name="conv_retention"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.id}"

    @property
    def patient_may_reply(self) -> bool:
        return self.closed_at is None and self.reply_mode == self.ReplyMode.REPLY

    @property
    def sender_label(self) -> str:
        """How the patient sees the other side: « Dr Claire Martin » or the pharmacy."""
        if self.sender_professional_id and not self.started_by_patient:
            return self.sender_professional.display_name
        if self.organization_id:
            return self.organization.name
        return "Un professionnel de santé"


class Message(PatientOwned):
    class AuthorKind(models.TextChoices):
        PROFESSIONAL = "professional", "Professionnel"
        ORGANIZATION = "organization", "Structure"
        PATIENT = "patient", "Patient"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    author_kind = models.CharField(max_length=16, choices=AuthorKind.choices)
    author_professional = _optional_link(Professional)
    # The citizen who wrote on the patient's side (the patient, a parent, an aidant).
    author_person = _optional_link(Person)
    author_organization = _optional_link(Organization)
    body_encrypted = models.BinaryField()
    created_at = models.DateTimeField()
    # Read acknowledgements: shown to the sender.
    read_by_patient_at = models.DateTimeField(null=True, blank=True)
    read_by_professional_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "message"
        indexes = [
            models.Index(fields=["patient", "conversation", "created_at"], name="msg_patient_conv"),
            models.Index(fields=["author_professional", "created_at"], name="msg_rate_pro"),
            models.Index(fields=["author_person", "created_at"], name="msg_rate_person"),
        ]

    def __str__(self) -> str:
        return f"Message {self.id}"

    @property
    def from_patient_side(self) -> bool:
        return self.author_kind == self.AuthorKind.PATIENT


class Attachment(PatientOwned):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename_encrypted = models.BinaryField()
    mime_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    blob_name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "pièce jointe"
        verbose_name_plural = "pièces jointes"
        indexes = [models.Index(fields=["patient", "message"], name="att_patient_message")]

    def __str__(self) -> str:
        return f"Pièce jointe {self.id}"
