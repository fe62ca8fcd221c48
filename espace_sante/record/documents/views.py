"""Documents pages. Thin: parse input, one access function, one service, render."""

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from espace_sante.access.http import citizen_actor, decrypted_response, space_shown
from espace_sante.access.policy import Action, NotAllowed
from espace_sante.identity.models import Person

from . import services
from .cda import narrative_sections
from .forms import EditForm, FilterForm, UploadForm, new_token
from .models import Document
from .reference import CATEGORIES, PATIENT_CATEGORY_TYPES, document_type
from .uploads import UploadRefused

PERIOD_DAYS = {"3m": 92, "12m": 366, "5a": 5 * 366}
PER_PAGE = 20


def _space_query(request: HttpRequest, patient: Person) -> str:
    """The query-string prefix that keeps another person's space across links."""
    return "" if patient == getattr(request.user, "person", None) else f"espace={patient.id}&"


def _document(
    request: HttpRequest,
    document_id: uuid.UUID,
    action: Action = Action.READ,
    *,
    trace: bool = True,
) -> Document:
    try:
        return services.access_document(citizen_actor(request), document_id, action, trace=trace)
    except NotAllowed:
        raise Http404 from None


# One opening of a document, one audit entry: the detail page traces the read,
# and the bytes it embeds or opens in a new tab carry a signed mark of that
# opening (this user, this document, a few minutes), so they are decided by the
# policy again but not traced a second time.
OPENING_SALT = "espace_sante.record.document-opening"
OPENING_SECONDS = 15 * 60


def _opening_mark(request: HttpRequest, document: Document) -> str:
    return signing.dumps([str(document.id), request.user.pk], salt=OPENING_SALT)


def _within_opening(request: HttpRequest, document_id: uuid.UUID) -> bool:
    mark = request.GET.get("ouverture", "")
    if not mark:
        return False
    try:
        found = signing.loads(mark, salt=OPENING_SALT, max_age=OPENING_SECONDS)
    except signing.BadSignature:
        return False
    matches: bool = found == [str(document_id), request.user.pk]
    return matches


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
def document_list(request: HttpRequest) -> HttpResponse:
    patient = space_shown(request)
    actor = citizen_actor(request)
    form = FilterForm(request.GET or None)
    space_query = _space_query(request, patient)
    filters = form.cleaned_data if form.is_valid() else {}
    since = None
    if filters.get("period"):
        since = timezone.localdate() - timedelta(days=PERIOD_DAYS[filters["period"]])
    try:
        page_number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page_number = 1
    page = services.document_page(
        actor,
        patient.id,
        category=filters.get("category", ""),
        since=since,
        search=filters.get("q", ""),
        page=page_number,
        per_page=PER_PAGE,
    )
    pages = max((page.matching + PER_PAGE - 1) // PER_PAGE, 1)
    query = request.GET.copy()
    query.pop("page", None)
    return _no_store(
        render(
            request,
            "record/documents.html",
            {
                "page_title": "Documents",
                "form": form,
                "documents": page.items,
                "categories": page.categories,
                "total": page.total,
                "matching": page.matching,
                "filtered": bool(filters and any(filters.values())),
                "new_count": page.new_count,
                "current_category": filters.get("category", ""),
                "page_number": page_number,
                "pages": pages,
                "page_range": range(1, pages + 1),
                "query": query.urlencode(),
                "space_query": space_query,
                "patient": patient,
                "own_space": not space_query,
            },
        )
    )


@login_required
@never_cache
def document_detail(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    document = _document(request, document_id)
    title = services.document_title(document)
    sections = None
    if document.is_structured:
        sections = narrative_sections(services.read_content(document))
    return _no_store(
        render(
            request,
            "record/document_detail.html",
            {
                "page_title": title,
                "document": document,
                "title": title,
                "type": document_type(document.type_code),
                "category_label": CATEGORIES.get(document.category, document.category),
                "sections": sections,
                "opening": _opening_mark(request, document),
            },
        )
    )


def stream_document(document: Document, title: str, disposition: str) -> StreamingHttpResponse:
    """The decrypted bytes as a response (also used by the professional portal)."""
    # The stored type, never text/html: a CDA's XML is not a page of ours (its
    # narrative is rendered, escaped, by the detail page).
    mime = document.mime_type
    if document.mime_type == "text/plain":
        mime = "text/plain; charset=utf-8"
    extension = {
        "application/pdf": "pdf",
        "image/jpeg": "jpg",
        "image/png": "png",
        "image/tiff": "tif",
        "text/plain": "txt",
        "text/rtf": "rtf",
        "application/xml": "xml",
    }.get(document.mime_type, "bin")
    return decrypted_response(
        services.iter_content(document),
        content_type=mime,
        size=document.size,
        disposition=disposition,
        filename=f"{title[:80]}.{extension}",
    )


@login_required
def document_content(
    request: HttpRequest, document_id: uuid.UUID
) -> HttpResponse | StreamingHttpResponse:
    """The document itself, shown by the browser (PDF viewer, image, text)."""
    document = _document(request, document_id, trace=not _within_opening(request, document_id))
    if document.is_structured:
        return redirect("record:document_detail", document_id=document.id)
    return stream_document(document, services.document_title(document), "inline")


@login_required
def document_download(
    request: HttpRequest, document_id: uuid.UUID
) -> HttpResponse | StreamingHttpResponse:
    document = _document(request, document_id)
    return stream_document(document, services.document_title(document), "attachment")


RESENT_WITH_CHANGES = (
    "Ce formulaire a déjà servi à ajouter un document, avec un autre contenu. Vérifiez vos "
    "documents ; pour ajouter aussi celui-ci, choisissez de nouveau le fichier et envoyez le "
    "formulaire."
)


def _once(request: HttpRequest, data: dict[str, Any]) -> services.Idempotency | None:
    """The form's one-time token as an idempotency key (None on a page without one)."""
    if not data["once"]:
        return None
    upload = data["file"]
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return services.Idempotency(
        sender=f"user:{request.user.pk}",
        key=data["once"],
        fingerprint=services.fingerprint(
            data["title"].encode(),
            data["category"].encode(),
            str(data["document_date"] or "").encode(),
            digest.digest(),
        ),
    )


@login_required
@never_cache
def document_upload(request: HttpRequest) -> HttpResponse:
    patient = space_shown(request)
    actor = citizen_actor(request)
    form = UploadForm(request.POST or None, request.FILES or None, initial={"once": new_token()})
    status = 400 if request.method == "POST" else 200
    renewed = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        meta = services.NewDocument(
            title=data["title"],
            type_code=PATIENT_CATEGORY_TYPES[data["category"]],
            source=Document.Source.PATIENT,
            document_date=data["document_date"],
        )
        try:
            document = services.deposit_once(
                actor,
                patient,
                _once(request, data),
                lambda: services.Deposit(
                    services.add_document(actor, patient, data["file"], meta), created=True
                ),
            ).document
        except UploadRefused as refusal:
            if refusal.code == "idempotency_mismatch":
                renewed = form.renew_token()
                form.add_error(None, RESENT_WITH_CHANGES)
            else:
                # A full store is nobody's file's fault: said above the form, not on the file.
                form.add_error(None if refusal.code == "storage_full" else "file", refusal)
            status = 503 if refusal.code == "storage_full" else 400
        else:
            url = reverse("record:document_detail", args=[document.id])
            messages.success(request, "Votre document a été ajouté.")
            if request.headers.get("Accept") == "application/json":  # upload.js
                return JsonResponse({"redirect": url}, status=201)
            return redirect(url)
    if request.method == "POST" and request.headers.get("Accept") == "application/json":
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        answer = {"errors": errors, "form": form.errors, **({"once": renewed} if renewed else {})}
        return JsonResponse(answer, status=status)
    return render(
        request,
        "record/document_upload.html",
        {
            "page_title": "Ajouter un document",
            "form": form,
            "patient": patient,
            "own_space": not _space_query(request, patient),
        },
        status=status,
    )


@login_required
@never_cache
def document_edit(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    document = _document(request, document_id, Action.UPDATE)
    actor = citizen_actor(request)
    initial = {
        "title": services.document_title(document),
        "category": document.category,
        "document_date": timezone.localtime(document.document_date).date(),
    }
    form = EditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_document(
                actor,
                document,
                title=data["title"],
                category=data["category"],
                document_date=data["document_date"],
            )
        except UploadRefused as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, "Le document a été modifié.")
            return redirect("record:document_detail", document_id=document.id)
    return _no_store(
        render(
            request,
            "record/document_edit.html",
            {"page_title": "Modifier le document", "form": form, "document": document},
        )
    )


@login_required
@require_POST
def document_mask(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    document = _document(request, document_id, Action.MASK)
    masked = request.POST.get("masked") == "1"
    services.set_masked(citizen_actor(request), document, masked)
    messages.success(
        request,
        "Le document est masqué aux professionnels de santé."
        if masked
        else "Le document est de nouveau visible par les professionnels qui ont accès à votre "
        "dossier.",
    )
    return redirect("record:document_detail", document_id=document.id)


@login_required
@never_cache
def document_delete(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    document = _document(request, document_id, Action.DELETE)
    title = services.document_title(document)
    if request.method == "POST":
        services.delete_document(citizen_actor(request), document)
        messages.success(request, f"« {title} » a été supprimé.")
        return redirect("record:document_list")
    return _no_store(
        render(
            request,
            "record/document_delete.html",
            {"page_title": "Supprimer le document", "document": document, "title": title},
        )
    )
