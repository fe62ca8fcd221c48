"""Documents of the medical record: add, read, list, change, mask, delete.

Every function takes the acting ``Actor`` and goes through ``access.guard``: every
access, allowed or refused, is appended to the audit trail in the same
transaction as the action.

Length (about 700 lines): the documents' whole life — deposit with its
deduplication and replacement, reading, lists and search, the patient's and the
author's changes — kept together until record splits into documents and profile
packages (issue 11 goes on).
"""

import dataclasses
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, BinaryIO, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from espace_sante.access import events as audit_events
from espace_sante.access import policy
from espace_sante.access.guard import guard
from espace_sante.access.policy import Action, Actor, NotAllowed
from espace_sante.crypto import blobs
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Organization, Person, Professional

from .models import Document, DocumentEvent
from .reference import CATEGORIES, PATIENT_CATEGORY_TYPES, DocumentType, document_type
from .uploads import InspectedFile, UploadRefused, inspect_upload

TITLE = "title"
# A document id as the doors receive it: a UUID, or its text (validated on lookup).
DocumentId = uuid.UUID | str
# The blobs written inside ``deposit_batch``, removed if the batch fails.
_batch: ContextVar[list[str] | None] = ContextVar("record_deposit_batch", default=None)


def document_title(document: Document) -> str:
    """The decrypted title (callers have already passed the policy)."""
    return crypto.decrypt_text(
        document.patient_id, document.id, bytes(document.title_encrypted), purpose=TITLE
    )


def _aware(value: date | datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(datetime.combine(value, time(12, 0)))


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
    ``sweep_orphan_blobs`` deletes later: never a row without its bytes.
    """
    creating = guard(actor, Action.CREATE, patient.id, object_type="document", trace=False)
    if meta.replaces is not None:
        guard(actor, Action.REPLACE, patient.id, meta.replaces, trace=False)
    doc_type = document_type(meta.type_code)
    if doc_type is None:
        raise UploadRefused("Type de document inconnu.", code="unknown_type")
    title = " ".join((meta.title or "").split())[:200] or doc_type.label
    inspected: InspectedFile = inspect_upload(
        upload, max_bytes=max_bytes_for(meta.source), allowed_types=allowed_types_for(meta.source)
    )
    if inspected.cda and inspected.cda.patient_ids:
        if (patient.ins_system, patient.ins_matricule) not in inspected.cda.patient_ids:
            inspected.cleanup()
            raise UploadRefused(
                "Ce document CDA concerne une autre personne (son identifiant national de "
                "santé ne correspond pas au dossier). Il n'a pas été ajouté.",
                code="cda_patient_mismatch",
            )
    crypto.ensure_keys(patient)
    document_id = uuid.uuid4()
    try:
        blob_name = blobs.store(patient.id, document_id, inspected.path, kind="document")
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
                document_date=_aware(
                    meta.document_date or (inspected.cda.effective_time if inspected.cda else None)
                ),
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
    except BaseException:
        blobs.delete([blob_name])
        raise
    batch = _batch.get()
    if batch is not None:
        batch.append(blob_name)
    return document


def access_document(
    actor: Actor | None,
    document_id: DocumentId,
    action: Action = Action.READ,
    *,
    trace: bool = True,
) -> Document:
    """The document if ``actor`` may do ``action`` on it; otherwise ``NotAllowed``.

    The refusal does not say whether the document exists (views answer 404).
    ``trace=False``: the policy still decides (and a refusal is traced), but
    the allowed read is already in the trail — the bytes a document page
    embeds belong to the opening the page traced (one opening, one entry).
    """
    try:
        document = Document.objects.select_related(
            "author_professional", "author_organization"
        ).get(pk=document_id)
    except (Document.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotAllowed from None
    if action != Action.READ:
        # The change that follows asks the guard again and traces itself.
        guard(actor, action, document.patient_id, document, trace=False)
        return document
    opening = guard(actor, Action.READ, document.patient_id, document, trace=False)
    with transaction.atomic():
        if trace:
            opening.trace(document)
        if policy.is_titulaire(actor, document.patient_id) and document.seen_by_patient_at is None:
            document.seen_by_patient_at = timezone.now()
            Document.objects.filter(pk=document.pk).update(
                seen_by_patient_at=document.seen_by_patient_at
            )
    return document


def open_content(document: Document) -> AbstractContextManager[BinaryIO]:
    """A readable stream of the decrypted bytes of a document already accessed (``with``)."""
    return blobs.open_decrypted(document.patient_id, document.id, document.blob_name)


def read_content(document: Document) -> bytes:
    """All the decrypted bytes (for small documents: CDA narrative, tests)."""
    with open_content(document) as stream:
        content: bytes = stream.read()
        return content


def iter_content(document: Document) -> Iterator[bytes]:
    """Decrypted bytes in chunks, for streaming responses."""
    return blobs.iter_decrypted(document.patient_id, document.id, document.blob_name)


def content_copy(document: Document, filename: str) -> AbstractContextManager[File[bytes]]:
    """The decrypted bytes in a temporary file (``with``), to deposit them elsewhere."""
    return blobs.decrypted_copy(
        document.patient_id, document.id, document.blob_name, filename=filename
    )


@dataclass
class ListedDocument:
    document: Document
    title: str

    @property
    def is_new(self) -> bool:
        return self.document.seen_by_patient_at is None


def _visible(
    actor: Actor | None,
    patient_id: uuid.UUID,
    *,
    category: str = "",
    since: date | None = None,
    until: date | None = None,
    include_inactive: bool = False,
) -> QuerySet[Document]:
    queryset: QuerySet[Document] = policy.visible_documents(
        actor, patient_id, Document.objects.all()
    )
    if not include_inactive:
        queryset = queryset.filter(status=Document.Status.CURRENT)
    if category:
        queryset = queryset.filter(category=category)
    if since:
        queryset = queryset.filter(document_date__gte=_aware(datetime.combine(since, time.min)))
    if until:
        queryset = queryset.filter(document_date__lte=_aware(datetime.combine(until, time.max)))
    return queryset


def _titled(
    queryset: QuerySet[Document], search: str, limit: int | None, offset: int
) -> tuple[list[ListedDocument], int]:
    """Decrypt titles; without a search, only those of the requested slice."""
    queryset = queryset.select_related("author_professional", "author_organization").order_by(
        "-document_date", "-created_at"
    )
    if not search:
        total = queryset.count() if limit is not None else None
        rows = queryset[offset : offset + limit] if limit is not None else queryset
        listed = [ListedDocument(doc, document_title(doc)) for doc in rows]
        return listed, total if total is not None else len(listed)
    # Titles are encrypted: the search runs here, on one patient's documents.
    needle = search.casefold()
    listed = [
        item
        for item in (ListedDocument(doc, document_title(doc)) for doc in queryset)
        if needle in item.title.casefold()
    ]
    total = len(listed)
    if limit is not None:
        listed = listed[offset : offset + limit]
    return listed, total


def list_documents(
    actor: Actor | None,
    patient_id: uuid.UUID,
    *,
    category: str = "",
    since: date | None = None,
    until: date | None = None,
    search: str = "",
    include_inactive: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[ListedDocument]:
    """The documents ``actor`` may see in one patient's record, newest first."""
    listing = guard(actor, Action.LIST, patient_id, object_type="document", trace=False)
    with transaction.atomic():
        queryset = _visible(
            actor,
            patient_id,
            category=category,
            since=since,
            until=until,
            include_inactive=include_inactive,
        )
        listed, _ = _titled(queryset, search, limit, offset)
        listing.trace()
    return listed


@dataclass
class DocumentPage:
    """One page of the Documents screen, with the counts it shows."""

    items: list[ListedDocument]
    matching: int  # documents matching the filters
    total: int  # every visible current document
    new_count: int
    categories: list[tuple[str, str, int]]


def document_page(
    actor: Actor | None,
    patient_id: uuid.UUID,
    *,
    category: str = "",
    since: date | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = 20,
) -> DocumentPage:
    """What the Documents screen shows: counts in SQL, titles decrypted for one page only."""
    listing = guard(actor, Action.LIST, patient_id, object_type="document", trace=False)
    with transaction.atomic():
        everything = _visible(actor, patient_id)
        per_category = dict(
            everything.order_by().values_list("category").annotate(count=Count("id"))
        )
        filtered = _visible(actor, patient_id, category=category, since=since)
        items, matching = _titled(filtered, search, per_page, (max(page, 1) - 1) * per_page)
        listing.trace()
    return DocumentPage(
        items=items,
        matching=matching,
        total=sum(per_category.values()),
        new_count=everything.filter(seen_by_patient_at__isnull=True).count(),
        categories=[
            (code, label, per_category[code])
            for code, label in CATEGORIES.items()
            if code in per_category
        ],
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
            document.document_date = _aware(document_date)
            fields.append("document_date")
        if fields:
            document.save(update_fields=fields)
            updating.trace(document)
    return document


def set_masked(actor: Actor | None, document: Document, masked: bool) -> Document:
    """Hide a document from professionals (MASQUE_PS), or show it again."""
    masking = guard(actor, Action.MASK, document.patient_id, document, trace=False)
    with transaction.atomic():
        document.masked_from_professionals = masked
        document.save(update_fields=["masked_from_professionals"])
        masking.trace(document, reason="masqué" if masked else "démasqué")
    return document


def withdraw_document(actor: Actor | None, document: Document) -> Document:
    """A professional withdraws a document they deposited (it stays for its author)."""
    withdrawing = guard(actor, Action.WITHDRAW, document.patient_id, document, trace=False)
    with transaction.atomic():
        document.status = Document.Status.WITHDRAWN
        document.save(update_fields=["status"])
        withdrawing.trace(document)
    return document


def delete_document(actor: Actor | None, document: Document) -> None:
    """Delete a document the patient deposited: the row now, the blob after commit."""
    deleting = guard(actor, Action.DELETE, document.patient_id, document, trace=False)
    with transaction.atomic():
        blob_name = document.blob_name
        deleting.trace(document)
        document.delete()
        # If this deletion fails, the orphan sweep removes the blob later.
        blobs.delete_after_commit([blob_name])


def sweep_orphan_blobs(older_than_seconds: int = blobs.GRACE_SECONDS) -> int:
    """Delete document blobs no row points at (left by a crash mid-upload), once old enough."""
    return blobs.sweep_orphans(
        "document",
        lambda names: set(
            Document.objects.filter(blob_name__in=names).values_list("blob_name", flat=True)
        ),
        older_than_seconds,
    )


# --- Doors that search with their own criteria (the FHIR API) ---------------


def search_documents(
    actor: Actor | None,
    patient_id: uuid.UUID,
    criteria: Q | None = None,
    *,
    newest_first: bool = True,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[ListedDocument], int]:
    """One page of the documents ``actor`` may see that match ``criteria`` (a ``Q``), and the total.

    The policy filter is applied in SQL first, so what the actor may not see is
    simply absent; the search is traced as a list of the record.
    """
    listing = guard(actor, Action.LIST, patient_id, object_type="document", trace=False)
    with transaction.atomic():
        queryset = policy.visible_documents(actor, patient_id, Document.objects.all())
        if criteria is not None:
            queryset = queryset.filter(criteria)
        order = (
            ("-document_date", "-created_at") if newest_first else ("document_date", "created_at")
        )
        queryset = queryset.select_related("author_professional", "author_organization").order_by(
            *order
        )
        total = queryset.count()
        rows = list(queryset[offset : offset + limit]) if limit else []
        listed = [ListedDocument(doc, document_title(doc)) for doc in rows]
        listing.trace()
    return listed, total


def has_event(system: str, code: str) -> Q:
    """A ``search_documents`` criterion: the document carries this context.event code.

    Only a ``Q``: the query runs inside ``search_documents``, behind the policy.
    """
    events = DocumentEvent.objects.filter(
        patient=OuterRef("patient"), document=OuterRef("pk"), code=code
    )
    if system:
        events = events.filter(system=system)
    return Q(Exists(events))


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


def patient_of_document(document_id: DocumentId) -> Person | None:
    """The patient a document belongs to (no content): doors apply the asserted access first."""
    try:
        patient_id = (
            Document.objects.filter(pk=document_id).values_list("patient_id", flat=True).first()
        )
    except (ValueError, TypeError, ValidationError):
        return None
    return Person.objects.filter(pk=patient_id).first() if patient_id else None


def visible_titles(
    actor: Actor | None, patient_id: policy.Id, document_ids: Iterable[DocumentId]
) -> dict[str, str]:
    """Titles of those of ``document_ids`` ``actor`` may still see, for the history.

    The caller (the titulaire's history page) traces the read itself.
    """
    visible = policy.visible_documents(
        actor, patient_id, Document.objects.filter(pk__in=list(document_ids))
    )
    return {str(doc.id): document_title(doc) for doc in visible}


def visible_document_ids(
    actor: Actor | None, patient_id: uuid.UUID, document_ids: Iterable[DocumentId]
) -> set[str]:
    """Which of ``document_ids`` ``actor`` may see (for lists that group documents), traced."""
    try:
        listing = guard(actor, Action.LIST, patient_id, object_type="document", trace=False)
    except NotAllowed:
        return set()
    with transaction.atomic():
        queryset = policy.visible_documents(
            actor, patient_id, Document.objects.filter(pk__in=list(document_ids))
        )
        found = {str(pk) for pk in queryset.values_list("pk", flat=True)}
        listing.trace()
    return found


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
    fields = []
    for name in ("confidentiality", "invisible_patient", "invisible_representatives", "archived"):
        value = getattr(change, name)
        if value is not None and getattr(document, name) != value:
            setattr(document, name, value)
            fields.append(name)
    if change.withdraw and document.status != Document.Status.WITHDRAWN:
        document.status = Document.Status.WITHDRAWN
        fields.append("status")
    if not fields:
        return document
    with transaction.atomic():
        document.save(update_fields=fields)
        changing.trace(
            document,
            event=Action.WITHDRAW if fields == ["status"] else Action.UPDATE,
            reason=f"{changing.mode} : {', '.join(fields)}",
        )
    return document


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
