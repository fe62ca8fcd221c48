"""The FHIR R4 endpoints (thin: parse, call the services, map, answer).

Every handler runs inside ``endpoint``: JSON negotiation, authentication of
the software and the acting professional, and the mapping of every failure to
an OperationOutcome; an unexpected error is logged and answered 500 with a
French outcome, never a stack trace.

Length (about 560 lines): every DocumentReference, Binary, List, Patient and
AuditEvent handler of the API in one module, each thin; Communication and the
transaction bundle have their own modules.
"""

import base64
import json
import logging
from urllib.parse import urlencode

from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.documentreference import DocumentReference

from espace_sante.access import history
from espace_sante.access import services as access
from espace_sante.access.guard import guard
from espace_sante.access.http import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_TEXT,
    database_unreachable,
    decrypted_response,
)
from espace_sante.access.policy import Action, NotAllowed, request_memo
from espace_sante.crypto.blobs import is_storage_full
from espace_sante.identity.models import EXISTING_SPACE_STATES
from espace_sante.record.documents import services as record

from . import capability, documents, mapping, patches, patients, search, transactions
from .auth import Caller, audit_token, caller
from .http import (
    FhirError,
    error_response,
    fhir_response,
    method_not_allowed,
    negotiated_type,
    read_json,
    refuse_nul,
    storage_full,
)
from .models import SubmissionSet

log = logging.getLogger(__name__)
READ_ONLY = {"metadata"}


def base_url(request) -> str:
    return request.build_absolute_uri("/fhir/R4").rstrip("/")


def endpoint(view):
    """Negotiation, authentication and OperationOutcome for every failure."""

    @csrf_exempt
    def wrapped(request, *args, **kwargs):
        content_type = "application/fhir+json"
        try:
            content_type = negotiated_type(request)
            refuse_nul(request.GET)
            # The policy computes each professional–patient relation once per request.
            with request_memo():
                response = view(request, *args, **kwargs)
            if response.get("Content-Type", "").startswith("application/fhir+json"):
                response["Content-Type"] = f"{content_type}; charset=utf-8"
            return response
        except FhirError as exc:
            return error_response(exc, content_type)
        except NotAllowed:
            return error_response(
                FhirError(404, "Ressource introuvable.", code="not-found"), content_type
            )
        except Exception as error:
            if is_storage_full(error):
                log.warning("FHIR request refused: blob store full")
                return error_response(storage_full(), content_type)
            if database_unreachable(error):
                log.warning("FHIR request refused: database unreachable")
                return error_response(
                    FhirError(
                        503,
                        UNAVAILABLE_TEXT,
                        code="transient",
                        headers={"Retry-After": RETRY_AFTER_SECONDS},
                    ),
                    content_type,
                )
            log.exception("FHIR request failed")
            return error_response(
                FhirError(
                    500,
                    "Erreur interne du serveur : la requête n'a pas été traitée (rien n'a été "
                    "enregistré). Réessayez plus tard ; si l'erreur persiste, contactez "
                    "le support.",
                    code="exception",
                ),
                content_type,
            )

    return wrapped


@endpoint
def metadata(request):
    if request.method != "GET":
        raise method_not_allowed(request, "GET")
    return fhir_response(capability.statement(base_url(request)))


@endpoint
def not_found(request, rest=""):
    raise FhirError(
        404,
        f"Aucune ressource ni opération à l'adresse « {request.path} » : consultez "
        f"{base_url(request)}/metadata.",
        code="not-found",
    )


# --- Access mode asserted by the software -------------------------------------


def apply_access_mode(who: Caller, patient) -> None:
    """Record what the software asserted (consent given, care team, emergency) before reading.

    A refused consent (the professional is blocked) is not an error: the
    policy then simply shows nothing. An emergency the patient refused is.
    """
    if who.access_mode == "consent":
        try:
            access.record_consent(who.actor, patient)
        except access.AccessChangeRefused:
            pass
    elif who.access_mode == "care_team":
        try:
            access.declare_care_team(who.actor, patient)
        except access.AccessChangeRefused as exc:
            raise FhirError(403, exc.messages[0], code="forbidden") from None
    elif who.access_mode in ("btg", "samu"):
        if access.active_emergency(who.actor, patient) is None:
            try:
                access.start_emergency_access(
                    who.actor, patient, who.access_mode, who.justification
                )
            except access.AccessChangeRefused as exc:
                raise FhirError(403, exc.messages[0], code="forbidden") from None


def _open_patient(who: Caller, person):
    if person is None or not person.space_is_open:
        return None
    apply_access_mode(who, person)
    return person


# --- DocumentReference -------------------------------------------------------


def _document_headers(request, document) -> dict:
    version = mapping.version_of(document)
    return {
        "ETag": f'W/"{version}"',
        "Location": f"{base_url(request)}/DocumentReference/{document.id}/_history/{version}",
        "Last-Modified": document.created_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }


def _prefer(request) -> str:
    prefer = request.headers.get("Prefer", "")
    for part in prefer.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "return":
            return value.strip('"')
    return "representation"


def _created(request, resource: dict, status: int, headers: dict):
    wanted = _prefer(request)
    if wanted == "minimal":
        return fhir_response(None, status, headers=headers)
    if wanted == "OperationOutcome":
        return fhir_response(
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "information",
                        "code": "informational",
                        "diagnostics": "Document enregistré."
                        if status == 201
                        else "Ce document avait déjà été reçu : rien n'a été ajouté.",
                    }
                ],
            },
            status,
            headers=headers,
        )
    return fhir_response(resource, status, headers=headers)


IDEMPOTENCY_HEADER = "Idempotency-Key"


def _idempotency(request, who: Caller, data: dict) -> record.Idempotency | None:
    """The ``Idempotency-Key`` of the request (draft-ietf-httpapi-idempotency-key-header).

    The key is the client's (the software, whichever professional acts); the
    fingerprint is the body's, as JSON with sorted keys (spacing aside).
    """
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # a structured-field string, as the draft
        key = key[1:-1]
    if not key or len(key) > record.IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise FhirError(
            400,
            f"En-tête {IDEMPOTENCY_HEADER} invalide : une chaîne de 1 à "
            f"{record.IDEMPOTENCY_KEY_MAX_LENGTH} caractères imprimables, par exemple un UUID "
            'entre guillemets ("8e03978e-40d5-43e8-bc93-6894a57f9324").',
            code="value",
        )
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return record.Idempotency(
        sender=f"fhir:{who.client.pk}", key=key, fingerprint=record.fingerprint(body.encode())
    )


def create_document_reference(request, who: Caller):
    data = read_json(request)
    resource = documents.parse(DocumentReference, data)
    result = documents.deposit(who, resource, idempotency=_idempotency(request, who, data))
    document = result.document
    body = mapping.document_reference(document, record.document_title(document), base_url(request))
    return _created(
        request, body, 201 if result.created else 200, _document_headers(request, document)
    )


PATIENT_PARAMS = {"patient", "subject", "patient.identifier", "subject.identifier"}


def _patient_param(request):
    for name in ("patient", "subject"):
        value = request.GET.get(name)
        if value:
            return patients.by_id(value.rsplit("/", 1)[-1])
    for name in ("patient.identifier", "subject.identifier"):
        value = request.GET.get(name)
        if value:
            return patients.ins_lookup(*patients.parse_token(value))
    raise FhirError(
        400,
        "Le patient est obligatoire : patient=<id> ou "
        "patient.identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR>.",
        code="required",
    )


def _links(request, total: int, count: int, offset: int) -> list[tuple[str, str]]:
    base = f"{base_url(request)}{request.path[len('/fhir/R4') :]}"
    params = [(k, v) for k, v in request.GET.lists() for v in v if k not in ("_offset",)]

    def url(at: int) -> str:
        return f"{base}?{urlencode([*params, ('_offset', str(at))])}"

    links = [("self", url(offset))]
    if count and offset + count < total:
        links.append(("next", url(offset + count)))
    if count and offset > 0:
        links.append(("previous", url(max(offset - count, 0))))
    return links


def search_document_references(request, who: Caller):
    criteria = search.document_criteria(request)
    count, offset, newest_first = search.paging(request)
    person = _open_patient(who, _patient_param(request))
    if person is None:
        return fhir_response(
            mapping.searchset([], 0, _links(request, 0, count, offset), base_url(request))
        )
    try:
        listed, total = record.search_documents(
            who.actor, person.id, criteria, newest_first=newest_first, limit=count, offset=offset
        )
    except NotAllowed:
        # No reason to access this record (or blocked): the refusal is traced, and
        # the answer is the same as for a record with nothing to show.
        listed, total = [], 0
    base = base_url(request)
    entries = [mapping.document_reference(item.document, item.title, base) for item in listed]
    return fhir_response(
        mapping.searchset(entries, total, _links(request, total, count, offset), base)
    )


def _document(request, who: Caller, document_id):
    # Read the document's patient first so the asserted access mode applies to it.
    person = record.patient_of_document(document_id)
    if person is not None:
        _open_patient(who, person)
    return record.access_document(who.actor, document_id)


@endpoint
def document_references(request):
    who = caller(request)
    if request.method == "POST":
        return create_document_reference(request, who)
    if request.method == "GET":
        return search_document_references(request, who)
    if request.method == "PATCH":
        return conditional_patch(request, who)
    raise method_not_allowed(request, "GET, POST, PATCH")


def _patched(request, who: Caller, document):
    operations = patches.read_patch(request)
    wanted = request.headers.get("If-Match", "").strip()
    if wanted and wanted.removeprefix("W/").strip('"') != mapping.version_of(document):
        raise FhirError(
            412,
            "Le document a changé depuis votre lecture (If-Match ne correspond plus à sa "
            "version) : relisez-le puis recommencez.",
            code="conflict",
        )
    try:
        document = patches.apply(who.actor, document, operations, base_url(request))
    except NotAllowed:
        raise FhirError(
            403,
            "Seul le producteur du document (vous ou votre structure) peut modifier ses "
            "métadonnées.",
            code="forbidden",
        ) from None
    body = mapping.document_reference(document, record.document_title(document), base_url(request))
    headers = _document_headers(request, document)
    headers.pop("Location")
    return fhir_response(body, headers=headers)


def conditional_patch(request, who: Caller):
    """``PATCH DocumentReference?identifier=system|value``: exactly one of your own documents.

    The patient may be named too (``patient=<id>``…): the look-up then stays
    within that patient's documents.
    """
    named = set(request.GET) & PATIENT_PARAMS
    unknown = set(request.GET) - {"identifier", "_format"} - PATIENT_PARAMS
    values = request.GET.getlist("identifier")
    if unknown or len(values) != 1 or len(named) > 1:
        raise FhirError(
            400,
            "Un PATCH conditionnel se fait par identifier=système|valeur (et, si vous le "
            "souhaitez, le patient), et seulement par eux.",
            code="required",
        )
    value = patients.parse_token(values[0])[1]
    if named:
        person = _patient_param(request)
        # An unknown patient holds none of your documents: the same 404 as below.
        found = record.find_own_deposit(who.actor, value, person.id) if person else []
    else:
        found = record.find_own_deposit(who.actor, value)
    if not found and value.startswith("urn:uuid:"):
        # Our own logical identifier (DocumentReference.identifier).
        try:
            found = [record.access_document(who.actor, value[9:], Action.REPLACE)]
        except NotAllowed:
            found = []
    if not found:
        raise FhirError(
            404,
            f"Aucun document déposé par vous ne porte l'identifiant « {value} ».",
            code="not-found",
        )
    if len(found) > 1:
        raise FhirError(
            412,
            "Plusieurs documents portent cet identifiant : précisez-le.",
            code="multiple-matches",
        )
    return _patched(request, who, found[0])


@endpoint
def document_references_search(request):
    """``POST [base]/DocumentReference/_search`` with form-encoded parameters."""
    if request.method != "POST":
        raise method_not_allowed(request, "POST")
    who = caller(request)
    refuse_nul(request.POST, "dans les paramètres du formulaire")
    request.GET = request.POST  # the same parameters, sent in the body
    return search_document_references(request, who)


@endpoint
def document_reference(request, resource_id, version=None):
    if request.method == "PATCH":
        who = caller(request)
        try:
            document = record.access_document(who.actor, resource_id, Action.REPLACE)
        except NotAllowed:
            raise FhirError(
                404, "Aucun document déposé par vous n'a cet identifiant.", code="not-found"
            ) from None
        return _patched(request, who, document)
    if request.method != "GET":
        raise method_not_allowed(request, "GET, PATCH")
    who = caller(request)
    document = _document(request, who, resource_id)
    if version is not None and version != mapping.version_of(document):
        raise FhirError(404, "Cette version du document n'existe plus.", code="not-found")
    body = mapping.document_reference(document, record.document_title(document), base_url(request))
    headers = _document_headers(request, document)
    headers.pop("Location")  # a read answers where it is, not where something was created
    return fhir_response(body, headers=headers)


@endpoint
def binary(request, resource_id):
    if request.method != "GET":
        raise method_not_allowed(request, "GET")
    who = caller(request)
    document = _document(request, who, resource_id)
    accept = request.headers.get("Accept", "")
    if "fhir+json" in accept or request.GET.get("_format"):
        body = {
            "resourceType": "Binary",
            "id": str(document.id),
            "contentType": document.mime_type,
            "data": base64.b64encode(record.read_content(document)).decode(),
        }
        return fhir_response(body)
    # No file name (what clients have always seen); sandboxed like every document.
    return decrypted_response(
        record.iter_content(document),
        content_type=document.mime_type,
        size=document.size,
    )


# --- Patient -----------------------------------------------------------------


@endpoint
def patient_search(request):
    if request.method != "GET":
        raise method_not_allowed(request, "GET")
    who = caller(request)
    unknown = {name for name in request.GET} - {"identifier", "_format", "_count"}
    if unknown:
        raise FhirError(
            400,
            f"Paramètre(s) non pris en charge pour Patient : {', '.join(sorted(unknown))} "
            "(seul identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR> l'est).",
            code="not-supported",
        )
    value = request.GET.get("identifier")
    if not value:
        raise FhirError(
            400,
            "identifier est obligatoire : identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR>.",
            code="required",
        )
    person = patients.ins_lookup(*patients.parse_token(value))
    entries = []
    if person is not None and person.space_state in EXISTING_SPACE_STATES:
        # Knowing that a space exists is traced, not notified (nothing is read).
        access.trace_lookup(who.actor, person)
        entries.append(mapping.patient_resource(person))
    return fhir_response(mapping.searchset(entries, len(entries), [], base_url(request)))


@endpoint
def patient_read(request, resource_id):
    if request.method != "GET":
        raise method_not_allowed(request, "GET")
    who = caller(request)
    person = patients.by_id(resource_id)
    if person is None or person.space_state not in EXISTING_SPACE_STATES:
        raise NotAllowed
    if person.space_is_open:
        apply_access_mode(who, person)
    # Outside any transaction of ours: a refusal is traced for good before the 404.
    guard(who.actor, Action.READ, person.id, object_type="patient")
    return fhir_response(mapping.patient_resource(person), headers={"ETag": 'W/"1"'})


# --- AuditEvent (the patient's own trail) ---------------------------------------


@endpoint
def audit_events(request):
    if request.method != "GET":
        raise method_not_allowed(request, "GET")
    token = audit_token(request)
    unknown = set(request.GET) - {"patient", "_count", "_offset", "_format"}
    if unknown:
        raise FhirError(
            400,
            f"Paramètre(s) non pris en charge pour AuditEvent : {', '.join(sorted(unknown))}.",
            code="not-supported",
        )
    value = request.GET.get("patient", "")
    if not value:
        raise FhirError(400, "Le paramètre patient est obligatoire.", code="required")
    count, offset, _ = search.paging(request)
    person = patients.by_id(value.rsplit("/", 1)[-1])
    if person is None:
        raise NotAllowed
    trail = history.audit_trail(token.actor(person.id), person.id, limit=count, offset=offset)
    entries = [
        mapping.audit_event(row, trail.professionals, trail.organizations, trail.apps)
        for row in trail.rows
    ]
    return fhir_response(
        mapping.searchset(
            entries, trail.total, _links(request, trail.total, count, offset), base_url(request)
        )
    )


# --- Transactions (ITI-65) and submission sets (ITI-66) --------------------------


@endpoint
def base(request):
    """``POST [base]`` with a transaction Bundle."""
    if request.method != "POST":
        raise method_not_allowed(request, "POST")
    who = caller(request)
    data = read_json(request)
    if data.get("resourceType") != "Bundle":
        raise FhirError(
            400,
            f"Ressource attendue à la racine : Bundle de type transaction ; reçue : "
            f"{data.get('resourceType') or 'aucune'}.",
            code="structure",
        )
    return fhir_response(transactions.provide(who, data, base_url(request)))


LIST_PARAMS = {
    "patient",
    "patient.identifier",
    "subject",
    "subject.identifier",
    "date",
    "identifier",
    "status",
    "code",
    "source",
    "_count",
    "_offset",
    "_format",
}


@endpoint
def lists(request):
    if request.method != "GET":
        raise method_not_allowed(request, "GET")
    who = caller(request)
    unknown = {name.split(":", 1)[0] for name in request.GET} - LIST_PARAMS
    if unknown:
        raise FhirError(
            400,
            f"Paramètre(s) non pris en charge pour List : {', '.join(sorted(unknown))}.",
            code="not-supported",
        )
    count, offset, _ = search.paging(request)
    person = _open_patient(who, _patient_param(request))
    sets = []
    if person is not None:
        queryset = SubmissionSet.objects.filter(patient=person).select_related(
            "author_professional"
        )
        for value in request.GET.getlist("date"):
            queryset = queryset.filter(search.date_q("created_at", value, "date"))
        for value in request.GET.getlist("identifier"):
            queryset = queryset.filter(unique_id=patients.parse_token(value)[1])
        for value in request.GET.getlist("code"):
            queryset = queryset.filter(content_type=patients.parse_token(value)[1])
        for value in request.GET.getlist("source"):
            queryset = queryset.filter(source_id=patients.parse_token(value)[1])
        for value in request.GET.getlist("status"):
            if value != "current":
                queryset = queryset.none()
        sets = list(queryset.order_by("-created_at"))
    visible = (
        record.visible_document_ids(
            who.actor, person.id, {doc_id for subset in sets for doc_id in subset.document_ids}
        )
        if sets
        else set()
    )
    shown = [
        (subset, [doc_id for doc_id in subset.document_ids if doc_id in visible]) for subset in sets
    ]
    # A set whose documents the reader may not see is absent, like the documents.
    shown = [(subset, ids) for subset, ids in shown if ids]
    page = shown[offset : offset + count]
    entries = [mapping.submission_set(subset, ids) for subset, ids in page]
    return fhir_response(
        mapping.searchset(
            entries, len(shown), _links(request, len(shown), count, offset), base_url(request)
        )
    )
