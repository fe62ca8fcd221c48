"""Attachments: checked and encrypted on the way in, guarded and decrypted on the way out."""

import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from espace_sante.access.http import STORAGE_FULL_TEXT
from espace_sante.access.policy import MessageAction, NotAllowed
from espace_sante.crypto import blobs
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person
from espace_sante.record.documents import services as record
from espace_sante.record.documents.reference import PATIENT_CATEGORY_TYPES
from espace_sante.record.documents.uploads import UploadRefused, inspect_upload
from espace_sante.record.text import hidden_characters

from .models import Attachment
from .rules import FILENAME, MessagingRefused, check_access, is_patient_side

logger = logging.getLogger(__name__)

# --- Attachments: checked, encrypted, durable -----------------------------------------


@dataclass
class CheckedFile:
    attachment_id: uuid.UUID
    filename: str
    mime_type: str
    size: int
    sha256: str
    blob_name: str


def attachment_limits(actor) -> tuple[int, list[str]]:
    """Largest size and accepted types for an attachment sent by ``actor``."""
    max_bytes = settings.MESSAGING_ATTACHMENT_MAX_BYTES
    allowed = list(settings.MESSAGING_ATTACHMENT_ALLOWED_TYPES)
    if is_patient_side(actor):
        # What a patient sends stays within what they may add to their documents.
        max_bytes = min(max_bytes, settings.RECORD_PATIENT_MAX_BYTES)
        allowed = [t for t in allowed if t in settings.RECORD_PATIENT_ALLOWED_TYPES]
    return max_bytes, allowed


def store_attachments(actor, patient: Person, uploads: Iterable) -> list[CheckedFile]:
    """Check every file, then encrypt each into the blob store. All or nothing.

    A full blob store is a ``MessagingRefused`` with code ``storage_full``.
    """
    uploads = [upload for upload in uploads if upload]
    if len(uploads) > settings.MESSAGING_MAX_ATTACHMENTS:
        raise MessagingRefused(
            f"Joignez au plus {settings.MESSAGING_MAX_ATTACHMENTS} fichiers à un message.",
            code="too_many_files",
        )
    max_bytes, allowed = attachment_limits(actor)
    stored: list[CheckedFile] = []
    try:
        for upload in uploads:
            name = os.path.basename(getattr(upload, "name", "") or "piece-jointe")[:150]
            # Not quoted back: the name itself would show what it disguises.
            hidden = hidden_characters(name, "Le nom d'un fichier joint")
            if hidden:
                raise MessagingRefused(hidden, code="hidden_characters")
            try:
                # A type software declared (FHIR contentType) is checked against the
                # bytes; a browser's guess is not a declaration (the name's extension is).
                inspected = inspect_upload(
                    upload,
                    max_bytes=max_bytes,
                    allowed_types=allowed,
                    declared_type=getattr(upload, "declared_type", ""),
                )
            except UploadRefused as refusal:
                raise MessagingRefused(
                    f"« {name} » : {refusal.messages[0]}", code=refusal.code
                ) from None
            attachment_id = uuid.uuid4()
            try:
                crypto.ensure_keys(patient)
                blob_name = blobs.store(
                    patient.id, attachment_id, inspected.path, kind="attachment"
                )
            except blobs.StorageFull as full:
                raise MessagingRefused(STORAGE_FULL_TEXT, code="storage_full") from full
            finally:
                inspected.cleanup()
            stored.append(
                CheckedFile(
                    attachment_id,
                    name,
                    inspected.mime_type,
                    inspected.size,
                    inspected.sha256,
                    blob_name,
                )
            )
    except BaseException:
        blobs.delete(item.blob_name for item in stored)
        raise
    return stored


# --- Attachments out --------------------------------------------------------------------


def _open_attachment(actor, attachment_id, action: MessageAction) -> tuple[Attachment, str]:
    """The attachment and its decrypted name if ``actor`` may do ``action``; traced."""
    try:
        attachment = Attachment.objects.select_related("message__conversation").get(
            pk=attachment_id
        )
    except (Attachment.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotAllowed from None
    conversation = attachment.message.conversation
    opening = check_access(actor, action, attachment.patient_id, conversation, obj=attachment)
    with transaction.atomic():
        opening.trace(attachment)
    filename = crypto.decrypt_text(
        attachment.patient_id, attachment.id, bytes(attachment.filename_encrypted), purpose=FILENAME
    )
    return attachment, filename


def access_attachment(actor, attachment_id) -> tuple[Attachment, str]:
    """The attachment and its file name, if ``actor`` may download it; traced."""
    return _open_attachment(actor, attachment_id, MessageAction.DOWNLOAD)


def describe_attachment(actor, attachment_id) -> tuple[Attachment, str]:
    """The attachment and its name, for a page about it (a read of the conversation)."""
    return _open_attachment(actor, attachment_id, MessageAction.READ)


def iter_attachment(attachment: Attachment) -> Iterator[bytes]:
    """Decrypted bytes of an attachment already accessed, in chunks."""
    return blobs.iter_decrypted(attachment.patient_id, attachment.id, attachment.blob_name)


def save_attachment_to_documents(actor, attachment_id, *, category: str, title: str = ""):
    """« Ajouter à mes documents »: the attachment becomes a document (source messaging).

    The patient chooses the type (a category of their own documents); the
    patient upload limits apply (size, types), with the record's own refusal.
    """
    if category not in PATIENT_CATEGORY_TYPES:
        raise MessagingRefused("Choisissez le type de document dans la liste.", code="category")
    attachment, filename = access_attachment(actor, attachment_id)
    if not is_patient_side(actor):
        raise NotAllowed
    if attachment.size > settings.RECORD_PATIENT_MAX_BYTES:
        limit = settings.RECORD_PATIENT_MAX_BYTES / 1_000_000
        raise MessagingRefused(
            f"Cette pièce jointe dépasse la taille maximale d'un document ({limit:.0f} Mo) : "
            "elle ne peut pas être ajoutée à vos documents. Vous pouvez la télécharger.",
            code="too_large",
        )
    conversation = attachment.message.conversation
    author = conversation.sender_professional if not conversation.started_by_patient else None
    with blobs.decrypted_copy(
        attachment.patient_id, attachment.id, attachment.blob_name, filename=filename
    ) as copy:
        try:
            return record.add_document(
                actor,
                conversation.patient,
                copy,
                record.NewDocument(
                    title=title or os.path.splitext(filename)[0] or "Pièce jointe",
                    type_code=PATIENT_CATEGORY_TYPES[category],
                    source="messaging",
                    document_date=attachment.created_at,
                    author_professional=author,
                    author_organization=conversation.organization,
                ),
            )
        except UploadRefused as refusal:
            raise MessagingRefused(refusal.messages[0], code=refusal.code) from refusal
