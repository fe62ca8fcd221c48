"""The FHIR wire: JSON bodies, content negotiation, OperationOutcome errors.

Every answer of ``/fhir/R4/`` is ``application/fhir+json`` (or the JSON
flavour ``_format`` asked for); every error is an ``OperationOutcome`` whose
``diagnostics`` says in French what went wrong and what to do.
"""

import json

from django.http import HttpResponse

FHIR_JSON = "application/fhir+json"
JSON_FORMATS = {
    "json": FHIR_JSON,
    "application/json": "application/json",
    "application/fhir+json": FHIR_JSON,
    "fhir+json": FHIR_JSON,
    "application/json+fhir": FHIR_JSON,
}


class FhirError(Exception):
    """An error answered as an OperationOutcome with ``status``."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        code: str = "processing",
        headers=None,
        issues: list[dict] | None = None,
    ):
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
        self.headers = headers or {}
        # Several problems at once (each with its FHIRPath ``expression``), else one issue.
        self.issues = issues


def storage_full() -> FhirError:
    """503 with Retry-After: the blob store is full (disk or quota), nothing was stored.

    503 rather than 507 (Insufficient Storage, a WebDAV code): the condition is
    the server's and temporary, nothing is wrong with the request, and 503 with
    ``Retry-After`` is what HTTP clients and retry policies already handle
    (urllib3 retries 413, 429 and 503 on ``Retry-After``); 507 carries no
    retry semantics. The issue type ``no-store`` (a kind of ``transient``)
    says which resource is missing.
    """
    from espace_sante.access.http import STORAGE_FULL_RETRY_AFTER_SECONDS

    return FhirError(
        503,
        "Le serveur ne peut pas enregistrer de fichier pour le moment (espace de stockage "
        "plein) : rien n'a été enregistré. Renvoyez la même requête après le délai indiqué "
        "par Retry-After.",
        code="no-store",
        headers={"Retry-After": STORAGE_FULL_RETRY_AFTER_SECONDS},
    )


def method_not_allowed(request, allowed: str) -> FhirError:
    """405 with the methods this URL accepts (``allowed``, as in the Allow header)."""
    return FhirError(
        405,
        f"Méthode {request.method} non prise en charge ici (acceptées : {allowed}).",
        code="not-supported",
        headers={"Allow": allowed},
    )


def outcome(diagnostics: str, code: str = "processing", severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def negotiated_type(request) -> str:
    """The JSON media type to answer with; 406 for anything we do not speak (XML)."""
    wanted = request.GET.get("_format", "").strip()
    if wanted:
        found = JSON_FORMATS.get(wanted.lower().split(";")[0].strip())
        if found is None:
            raise FhirError(
                406,
                f"Le format « {wanted} » n'est pas proposé : ce serveur répond en JSON "
                "(_format=json ou application/fhir+json).",
                code="not-supported",
            )
        return found
    accept = request.headers.get("Accept", "")
    if accept and "json" not in accept and "*/*" not in accept and "xml" in accept:
        raise FhirError(
            406,
            "Ce serveur répond en JSON (application/fhir+json) uniquement, pas en XML.",
            code="not-supported",
        )
    return FHIR_JSON


def fhir_response(body: dict | None, status: int = 200, content_type=FHIR_JSON, headers=None):
    data = b"" if body is None else _json_bytes(body)
    response = HttpResponse(
        data, status=status, content_type=f"{content_type}; charset=utf-8" if data else None
    )
    if not data:
        del response["Content-Type"]
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def _json_bytes(body: dict) -> bytes:
    try:
        return json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        # A lone surrogate (``"\ud800"`` sent by a client, quoted back in an error) has no
        # UTF-8 form: the JSON escape says the same thing in ASCII.
        return json.dumps(body).encode()


def error_response(error: FhirError, content_type=FHIR_JSON):
    body = outcome(error.diagnostics, error.code)
    if error.issues:
        body["issue"] = error.issues
    return fhir_response(body, error.status, content_type, error.headers)


def max_body_bytes() -> int:
    """A maximum-size document in base64 (4/3), with room for a few more in a bundle."""
    from django.conf import settings

    return settings.RECORD_PROFESSIONAL_MAX_BYTES * 3


def read_body(request) -> bytes:
    """The request body, read from the stream up to our own limit.

    Django's ``request.body`` stops at DATA_UPLOAD_MAX_MEMORY_SIZE (1 MB, meant
    for forms); a FHIR deposit carries its file in base64, so the API reads the
    stream itself and answers 413 beyond a limit derived from the document size.
    """
    limit = max_body_bytes()
    try:
        announced = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        raise _too_large(limit)
    data = request.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _too_large(limit: int) -> FhirError:
    return FhirError(
        413,
        f"La requête dépasse la taille maximale acceptée ({limit // 1_000_000} Mo, soit des "
        "documents de "
        f"{limit // 3 // 1_000_000} Mo au plus une fois encodés en base 64). Envoyez les "
        "documents un par un, ou réduisez-les.",
        code="too-long",
    )


# A FHIR resource nests a dozen levels (Bundle, entry, resource, extension…). Deeper
# bodies are refused: the code that reads them (pydantic, deepcopy, jsonpatch) recurses.
MAX_JSON_DEPTH = 64


def _too_deep() -> FhirError:
    return FhirError(
        400,
        f"Le JSON reçu imbrique plus de {MAX_JSON_DEPTH} niveaux de tableaux ou d'objets : "
        "aucune ressource FHIR n'en demande autant, la requête est refusée sans être traitée.",
        code="too-costly",
    )


def _deeper_than(value, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


NUL_REFUSED = (
    "Le caractère NUL (U+0000) n'est pas admis {where} : FHIR l'exclut de ses chaînes de "
    "caractères ; retirez-le."
)


def refuse_nul(params, where: str = "dans les paramètres de la requête") -> None:
    """400 when a query (or form) parameter holds U+0000, which PostgreSQL cannot store."""
    for name, values in params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise FhirError(400, NUL_REFUSED.format(where=where), code="value")


def _strings(value):
    """Every string of a parsed JSON value, keys included (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_json(data: bytes, invalid: str):
    """``data`` parsed, or a 400 OperationOutcome: ``invalid`` for bad syntax, or too deep.

    The standard parser stops itself at Python's recursion limit (RecursionError, a
    body thousands deep); below that, the parsed value is measured against our bound.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise FhirError(400, invalid, code="structure") from None
    # Fewer brackets than the bound cannot nest deeper than it: most bodies stop here.
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_JSON_DEPTH and isinstance(value, dict | list):
        if _deeper_than(value, MAX_JSON_DEPTH):
            raise _too_deep()
    # JSON can only carry U+0000 escaped; most bodies have no such escape and are not walked.
    if b"\\u0000" in data and any("\x00" in text for text in _strings(value)):
        raise FhirError(400, NUL_REFUSED.format(where="dans le JSON reçu"), code="value")
    return value


def read_json(request) -> dict:
    """The request body as a JSON object, or a 400/415 OperationOutcome."""
    media = request.content_type or ""
    if media and "json" not in media:
        raise FhirError(
            415,
            f"Le corps de la requête doit être du JSON FHIR (application/fhir+json), "
            f"pas « {media} ».",
            code="not-supported",
        )
    data = parse_json(
        read_body(request),
        "Le corps de la requête n'est pas un JSON valide : vérifiez sa syntaxe "
        "(guillemets, virgules, accolades).",
    )
    if not isinstance(data, dict):
        raise FhirError(
            400,
            "Le corps de la requête doit être une ressource FHIR (un objet JSON).",
            code="structure",
        )
    return data
