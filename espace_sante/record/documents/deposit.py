"""Depositing documents: checked, encrypted, durable and traced; deduplicated and replaced.

A deposit writes its blob first, then its row and audit entry in one
transaction; a failure leaves no row without its bytes, and the orphan sweep
removes bytes without a row.
"""

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from espace_sante.access import events as audit_events
from espace_sante.access import notifications, policy
from espace_sante.access.guard import guard
from espace_sante.access.http import STORAGE_FULL_TEXT
from espace_sante.access.policy import Action, Actor, NotAllowed
from espace_sante.crypto import blobs
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Organization, Person, Professional
from espace_sante.record.text import hidden_characters

from .models import Document, DocumentEvent
from .reading import TITLE, DocumentId, access_document, aware
from .reference import document_type
from .uploads import InspectedFile, UploadRefused, inspect_upload

# Deposits the patient is told of in the daily digest ("un nouveau document"): not
# what they added themselves, nor an attachment they kept from their messages.
NOTIFIED_SOURCES = frozenset(
    {Document.Source.PROFESSIONAL, Document.Source.INSURER, Document.Source.SERVICE}
)

# The blobs written inside ``deposit_batch``, removed if the batch fails.
_batch: ContextVar[list[str] | None] = ContextVar("record_deposit_batch", default=None)


@dataclass
class NewDocument:
    """What a depositor says about a document, besides its bytes."""

    title: str
    type_code: str
    source: str
    document_date: date | datetime | None = None
    author_professional: Professional | None = None
    author_organization: Organization | None = None
    master_identifier: str = ""
    replaces: Document | None = None
    masked_from_professionals: bool = False
    invisible_patient: bool = False
    invisible_representatives: bool = False
    confidentiality: str = Document.Confidentiality.NORMAL
    # FHIR context codes of a professional deposit: (system, code) pairs, empty when unknown.
    facility_type: tuple[str, str] = ("", "")
    practice_setting: tuple[str, str] = ("", "")
    events: tuple[tuple[str, str], ...] = ()
    # The media type the sender declared (FHIR contentType); "" when it declared none.
    declared_type: str = ""
    # When the care happened (FHIR context.period), when the sender said so.
    service_start: date | datetime | None = None
    service_end: date | datetime | None = None


# A document dated ahead is a typing or clock mistake: a day of margin for time zones.
FUTURE_MARGIN = timedelta(days=1)
OLDEST_YEAR = 1900


def implausible_date(
    value: date | datetime | None, label: str = "La date du document"
) -> str | None:
    """Why a document's date is refused (in the future, or before 1900), or None."""
    if value is None:
        return None
    shown = value.strftime("%d/%m/%Y")
    if value.year < OLDEST_YEAR:
        return f"{label} ({shown}) est antérieure à {OLDEST_YEAR} : vérifiez-la."
    if aware(value) > timezone.now() + FUTURE_MARGIN:
        return f"{label} ({shown}) est dans le futur : vérifiez-la."
    return None


def max_bytes_for(source: str) -> int:
    if source == Document.Source.PATIENT or source == Document.Source.MESSAGING:
        patient_max: int = settings.RECORD_PATIENT_MAX_BYTES
        return patient_max
    professional_max: int = settings.RECORD_PROFESSIONAL_MAX_BYTES
    return professional_max


def allowed_types_for(source: str) -> list[str]:
    if source in (Document.Source.PATIENT, Document.Source.MESSAGING):
        patient_types: list[str] = settings.RECORD_PATIENT_ALLOWED_TYPES
        return patient_types
    all_types: list[str] = settings.RECORD_ALLOWED_TYPES
    return all_types


def add_document(
    actor: Actor | None, patient: Person, upload: IO[bytes], meta: NewDocument
) -> Document:
    """Store a new document for ``patient``: checked, encrypted, durable, traced.

    The blob is written (and synced) first, then the row and its audit entry
    in one transaction; if the row cannot be written, the blob is removed. A
    crash between the two leaves only an unreferenced blob, which
    ``sweep_orphan_blobs`` deletes later: never a row without its bytes. A full
    blob store is an ``UploadRefused`` with code ``storage_full`` (nothing
    written, the person told to try again later).
    """
    creating = guard(actor, Action.CREATE, patient.id, object_type="document", trace=False)
    if meta.replaces is not None:
        guard(actor, Action.REPLACE, patient.id, meta.replaces, trace=False)
    doc_type = document_type(meta.type_code)
    if doc_type is None:
        raise UploadRefused("Type de document inconnu.", code="unknown_type")
    hidden = hidden_characters(meta.title or "", "Le titre du document", multiline=True)
    if hidden:
        raise UploadRefused(hidden, code="hidden_characters")
    title = " ".join((meta.title or "").split())[:200] or doc_type.label
    inspected: InspectedFile = inspect_upload(
        upload,
        max_bytes=max_bytes_for(meta.source),
        allowed_types=allowed_types_for(meta.source),
        declared_type=meta.declared_type,
    )
    if inspected.cda and inspected.cda.patient_ids:
        if (patient.ins_system, patient.ins_matricule) not in inspected.cda.patient_ids:
            inspected.cleanup()
            raise UploadRefused(
                "Ce document CDA concerne une autre personne (son identifiant national de "
                "santé ne correspond pas au dossier). Il n'a pas été ajouté.",
                code="cda_patient_mismatch",
            )
    document_date = meta.document_date or (inspected.cda.effective_time if inspected.cda else None)
    refused_date = implausible_date(document_date)
    if refused_date:
        inspected.cleanup()
        raise UploadRefused(refused_date, code="implausible_date")
    crypto.ensure_keys(patient)
    document_id = uuid.uuid4()
    try:
        blob_name = blobs.store(patient.id, document_id, inspected.path, kind="document")
    except blobs.StorageFull as full:
        # Nothing was written (the store removed its partial blob): said, not a server error.
        raise UploadRefused(STORAGE_FULL_TEXT, code="storage_full") from full
    finally:
        inspected.cleanup()
    events = list(dict.fromkeys((system[:200], code[:64]) for system, code in meta.events if code))
    try:
        with transaction.atomic():
            document = Document.objects.create(
                id=document_id,
                patient=patient,
                type_code=doc_type.code,
                class_code=doc_type.class_code,
                category=doc_type.category,
                title_encrypted=crypto.encrypt_text(patient.id, document_id, title, purpose=TITLE),
                format_code=inspected.format_code,
                mime_type=inspected.mime_type,
                size=inspected.size,
                sha256=inspected.sha256,
                blob_name=blob_name,
                is_structured=inspected.is_structured,
                source=meta.source,
                author_professional=meta.author_professional,
                author_organization=meta.author_organization,
                master_identifier=meta.master_identifier,
                document_date=aware(document_date),
                replaces=meta.replaces,
                confidentiality=meta.confidentiality,
                masked_from_professionals=meta.masked_from_professionals
                or policy.access_settings(patient.id).mask_new_documents,
                invisible_patient=meta.invisible_patient,
                invisible_representatives=meta.invisible_representatives,
                facility_type_system=meta.facility_type[0][:200],
                facility_type_code=meta.facility_type[1][:64],
                practice_setting_system=meta.practice_setting[0][:200],
                practice_setting_code=meta.practice_setting[1][:64],
                event_codes=[f"{system}|{code}" for system, code in events],
                service_start=aware(meta.service_start) if meta.service_start else None,
                service_end=aware(meta.service_end) if meta.service_end else None,
                # What the patient deposits themselves is not "new" to them.
                seen_by_patient_at=timezone.now()
                if meta.source == Document.Source.PATIENT
                else None,
            )
            if events:
                DocumentEvent.objects.bulk_create(
                    DocumentEvent(patient=patient, document=document, system=system, code=code)
                    for system, code in events
                )
            if meta.replaces is not None:
                Document.objects.filter(pk=meta.replaces.pk).update(
                    status=Document.Status.SUPERSEDED
                )
            creating.trace(document)
            if meta.source in NOTIFIED_SOURCES and not meta.invisible_patient:
                # In the same transaction: a rolled-back deposit tells nobody, and a
                # committed one is never left untold. No title, no type: the kind only.
                notifications.notify(patient.id, notifications.Kind.NEW_DOCUMENT)
    except BaseException:
        blobs.delete([blob_name])
        raise
    batch = _batch.get()
    if batch is not None:
        batch.append(blob_name)
    return document


@dataclass
class Deposit:
    document: Document
    created: bool  # False: the same document had already been deposited


def deposit(
    actor: Actor,
    patient: Person,
    upload: IO[bytes],
    meta: NewDocument,
    *,
    replaces_id: DocumentId | None = None,
) -> Deposit:
    """A deposit by software: a new document, or the one already received with the same id.

    Software may send the same document twice (a retry after a lost answer):
    when the actor already deposited ``meta.master_identifier`` for this
    patient, that document comes back and nothing is added. Another
    depositor's document with the same id is not revealed (``UploadRefused``,
    code ``duplicate_other``). ``replaces_id`` names the document this one
    replaces: one that does not exist and one that is not the actor's own are
    refused alike (code ``replaced_unknown``).
    """
    existing = _earlier_deposit(actor, patient, meta.master_identifier)
    if existing is not None:
        return Deposit(existing, created=False)
    if replaces_id is not None:
        try:
            replaced = access_document(actor, replaces_id, Action.REPLACE)
        except NotAllowed:
            raise UploadRefused(
                "Le document à remplacer est introuvable, ou n'a pas été déposé par vous ou "
                "votre structure.",
                code="replaced_unknown",
            ) from None
        meta = dataclasses.replace(meta, replaces=replaced)
    return Deposit(add_document(actor, patient, upload, meta), created=True)


def _earlier_deposit(actor: Actor, patient: Person, master_identifier: str) -> Document | None:
    """The document already deposited with this producer id, when it is the actor's own."""
    if not master_identifier:
        return None
    found = (
        Document.objects.select_related("author_professional", "author_organization")
        .filter(patient=patient, master_identifier=master_identifier)
        .first()
    )
    if found is None:
        return None
    if not policy.is_author(actor, found):
        raise UploadRefused(
            "Un document portant cet identifiant (masterIdentifier) a déjà été déposé par un "
            "autre émetteur : donnez au document un identifiant unique.",
            code="duplicate_other",
        )
    # Their own document: the REPLACE decision is exactly "the author" (Mode.AUTHOR).
    own = guard(actor, Action.REPLACE, patient.id, found, trace=False)
    own.trace(
        found,
        event=audit_events.CREATE,
        reason="déjà reçu (même identifiant) : rien n'a été ajouté",
    )
    return found


@contextmanager
def deposit_batch() -> Iterator[None]:
    """Several deposits all or nothing: one transaction, and no blob left if it fails.

    Every ``add_document`` (or ``deposit``) inside the block writes its blob
    before its row, as always; if the block raises, the transaction rolls the
    rows back and the blobs written in it are deleted (a crash in between
    leaves them to the orphan sweep). The caller may write its own rows in
    the same block.
    """
    outer = _batch.get()
    written: list[str] = []
    token = _batch.set(written)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        blobs.delete(written)
        raise
    finally:
        _batch.reset(token)
    if outer is not None:  # an enclosing batch may still fail: it owns these blobs now
        outer.extend(written)


def sweep_orphan_blobs(older_than_seconds: int = blobs.GRACE_SECONDS) -> int:
    """Delete what a crash mid-upload leaves, once old enough; the number of files deleted.

    Document blobs no row points at, and the plaintext copies of uploads being
    checked when their process was killed (``var/tmp``).
    """
    orphans = blobs.sweep_orphans(
        "document",
        lambda names: set(
            Document.objects.filter(blob_name__in=names).values_list("blob_name", flat=True)
        ),
        older_than_seconds,
    )
    return orphans + blobs.sweep_temporary_files(older_than_seconds)


def find_own_deposit(
    actor: Actor, master_identifier: str, patient_id: uuid.UUID | None = None
) -> list[Document]:
    """The documents with this producer id that ``actor`` (or their organisation) deposited.

    Scoped to ``patient_id`` when the caller names the patient (rule 2: one
    index look-up, doc_unique_master_identifier). Without it (a conditional
    PATCH may name only the identifier, ADR 0008) it spans patients, five rows
    at most: allowed in tests/test_guard.py UNSCOPED.
    """
    if not master_identifier:
        return []
    candidates = Document.objects.select_related(
        "author_professional", "author_organization"
    ).filter(master_identifier=master_identifier)
    if patient_id is not None:
        candidates = candidates.filter(patient_id=patient_id)
    return [doc for doc in candidates[:5] if policy.is_author(actor, doc)]
