"""Reading documents: open one, its decrypted bytes, the lists and searches of a record.

Every read goes through ``access.guard``; a list is filtered by the policy in
SQL (``policy.visible_documents``) before any title is decrypted.
"""

import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from espace_sante.access import policy
from espace_sante.access.guard import guard
from espace_sante.access.policy import Action, Actor, NotAllowed
from espace_sante.crypto import blobs
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person

from .models import Document, DocumentEvent
from .reference import CATEGORIES

TITLE = "title"


# A document id as the doors receive it: a UUID, or its text (validated on lookup).
DocumentId = uuid.UUID | str


def document_title(document: Document) -> str:
    """The decrypted title (callers have already passed the policy)."""
    return crypto.decrypt_text(
        document.patient_id, document.id, bytes(document.title_encrypted), purpose=TITLE
    )


def aware(value: date | datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(datetime.combine(value, time(12, 0)))


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


@contextmanager
def _listing(actor: Actor | None, patient_id: uuid.UUID) -> Iterator[None]:
    """Guard a list of one patient's documents, then trace it in the transaction of its query."""
    listing = guard(actor, Action.LIST, patient_id, object_type="document", trace=False)
    with transaction.atomic():
        yield
        listing.trace()


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
        queryset = queryset.filter(document_date__gte=aware(datetime.combine(since, time.min)))
    if until:
        queryset = queryset.filter(document_date__lte=aware(datetime.combine(until, time.max)))
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
    with _listing(actor, patient_id):
        queryset = _visible(
            actor,
            patient_id,
            category=category,
            since=since,
            until=until,
            include_inactive=include_inactive,
        )
        listed, _ = _titled(queryset, search, limit, offset)
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
    with _listing(actor, patient_id):
        everything = _visible(actor, patient_id)
        per_category = dict(
            everything.order_by().values_list("category").annotate(count=Count("id"))
        )
        filtered = _visible(actor, patient_id, category=category, since=since)
        items, matching = _titled(filtered, search, per_page, (max(page, 1) - 1) * per_page)
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
    with _listing(actor, patient_id):
        queryset = policy.visible_documents(actor, patient_id, Document.objects.all())
        if criteria is not None:
            queryset = queryset.filter(criteria)
        # FHIR's ``date`` is when the document was deposited (mapping), so its sort too.
        order = ("-created_at", "-id") if newest_first else ("created_at", "id")
        queryset = queryset.select_related("author_professional", "author_organization").order_by(
            *order
        )
        total = queryset.count()
        rows = list(queryset[offset : offset + limit]) if limit else []
        listed = [ListedDocument(doc, document_title(doc)) for doc in rows]
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
