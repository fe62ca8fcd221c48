"""Changing documents afterwards: the patient's edits and the author's withdrawal.

The patient renames, recategorises, redates, masks or deletes what they
deposited; the author (a professional or an organisation) withdraws their
deposit or updates its metadata (PDSm).
"""

from dataclasses import dataclass
from datetime import date
from typing import cast

from django.db import transaction
from django.utils import timezone

from espace_sante.access.guard import guard
from espace_sante.access.policy import Action, Actor
from espace_sante.crypto import blobs
from espace_sante.crypto import services as crypto
from espace_sante.record.text import hidden_characters

from .models import Document
from .reading import TITLE, aware
from .reference import PATIENT_CATEGORY_TYPES, DocumentType, document_type
from .uploads import UploadRefused


def _locked(document: Document) -> Document | None:
    """The document's row as it is now, locked until the change commits (None if deleted).

    Parallel requests (a double click, two tabs, a retry) then see the change
    made before them, and only a real change is made and traced.
    """
    return (
        Document.objects.select_for_update()
        .filter(patient_id=document.patient_id, pk=document.pk)
        .first()
    )


def update_document(
    actor: Actor | None,
    document: Document,
    *,
    title: str | None = None,
    category: str | None = None,
    document_date: date | None = None,
) -> Document:
    """Rename, recategorise or redate a document the patient deposited."""
    updating = guard(actor, Action.UPDATE, document.patient_id, document, trace=False)
    with transaction.atomic():
        fields = []
        if title is not None:
            hidden = hidden_characters(title, "Le titre du document", multiline=True)
            if hidden:
                raise UploadRefused(hidden, code="hidden_characters")
            clean = " ".join(title.split())[:200]
            if not clean:
                raise UploadRefused("Donnez un titre au document.", code="title")
            document.title_encrypted = crypto.encrypt_text(
                document.patient_id, document.id, clean, purpose=TITLE
            )
            fields.append("title_encrypted")
        if category is not None:
            if category not in PATIENT_CATEGORY_TYPES:
                raise UploadRefused("Choisissez une catégorie de la liste.", code="category")
            # Every patient category names a type of the reference.
            doc_type = cast(DocumentType, document_type(PATIENT_CATEGORY_TYPES[category]))
            document.type_code, document.category = doc_type.code, doc_type.category
            document.class_code = doc_type.class_code
            fields += ["type_code", "category", "class_code"]
        if document_date is not None:
            if document_date > timezone.localdate():
                raise UploadRefused(
                    "La date du document ne peut pas être dans le futur.", code="date"
                )
            document.document_date = aware(document_date)
            fields.append("document_date")
        if fields:
            document.save(update_fields=fields)
            updating.trace(document)
    return document


def set_masked(actor: Actor | None, document: Document, masked: bool) -> Document:
    """Hide a document from professionals (MASQUE_PS), or show it again."""
    masking = guard(actor, Action.MASK, document.patient_id, document, trace=False)
    with transaction.atomic():
        current = _locked(document)
        document.masked_from_professionals = masked
        if current is None or current.masked_from_professionals == masked:
            return document  # already so: nothing changes, nothing to trace
        document.save(update_fields=["masked_from_professionals"])
        masking.trace(document, reason="masqué" if masked else "démasqué")
    return document


def withdraw_document(actor: Actor | None, document: Document) -> Document:
    """A professional withdraws a document they deposited (it stays for its author)."""
    withdrawing = guard(actor, Action.WITHDRAW, document.patient_id, document, trace=False)
    with transaction.atomic():
        current = _locked(document)
        already = current is None or current.status == Document.Status.WITHDRAWN
        document.status = Document.Status.WITHDRAWN
        if already:
            return document
        document.save(update_fields=["status"])
        withdrawing.trace(document)
    return document


def delete_document(actor: Actor | None, document: Document) -> None:
    """Delete a document the patient deposited: the row now, the blob after commit."""
    deleting = guard(actor, Action.DELETE, document.patient_id, document, trace=False)
    with transaction.atomic():
        if _locked(document) is None:
            return  # deleted by a parallel request: deleted, as asked, and traced once
        blob_name = document.blob_name
        deleting.trace(document)
        document.delete()
        # If this deletion fails, the orphan sweep removes the blob later.
        blobs.delete_after_commit([blob_name])


@dataclass
class DepositChange:
    """What the producer of a document may change afterwards (PDSm metadata update)."""

    withdraw: bool = False
    confidentiality: str | None = None
    invisible_patient: bool | None = None
    invisible_representatives: bool | None = None
    archived: bool | None = None


def update_deposit(actor: Actor, document: Document, change: DepositChange) -> Document:
    """The author (professional or organisation) changes status, visibility labels or archiving.

    Only the depositor may: the policy's REPLACE decision is exactly "their own
    document". Masking from professionals stays the patient's choice and is not
    part of this change.
    """
    changing = guard(actor, Action.REPLACE, document.patient_id, document, trace=False)
    with transaction.atomic():
        # Compared with the row as it is now: a change already made is not traced again.
        current = _locked(document)
        if current is None:
            return document
        fields = []
        for name in (
            "confidentiality",
            "invisible_patient",
            "invisible_representatives",
            "archived",
        ):
            value = getattr(change, name)
            if value is not None and getattr(current, name) != value:
                fields.append(name)
            if value is not None:
                setattr(document, name, value)
        if change.withdraw:
            if current.status != Document.Status.WITHDRAWN:
                fields.append("status")
            document.status = Document.Status.WITHDRAWN
        if not fields:
            return document
        document.save(update_fields=fields)
        changing.trace(
            document,
            event=Action.WITHDRAW if fields == ["status"] else Action.UPDATE,
            reason=f"{changing.mode} : {', '.join(fields)}",
        )
    return document
