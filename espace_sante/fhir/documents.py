"""ITI-105 / ITI-65 document deposits: a FHIR DocumentReference turned into ``record.deposit``.

Translation only: duplicates, replacement and the blobs are the record's.
"""

import base64
import hashlib
import io
from datetime import date, datetime

from pydantic import ValidationError

from espace_sante.access.policy import NotAllowed
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.reference import document_type
from espace_sante.record.documents.uploads import UploadRefused
from espace_sante.record.text import hidden_characters

from . import patients
from .auth import Caller
from .http import FhirError, storage_full
from .mapping import CONFIDENTIALITY_SYSTEM, VISIBILITY_CODES, unknown_security_label

UNSUPPORTED_ERRORS = 5


def validation_error(resource_type: str, exc: ValidationError) -> FhirError:
    details = "; ".join(
        f"{'.'.join(str(p) for p in error.get('loc', ()))} : {error.get('msg', '')}"
        for error in exc.errors()[:UNSUPPORTED_ERRORS]
    )
    return FhirError(400, f"Ressource {resource_type} invalide — {details}", code="structure")


def parse(resource_class, data: dict):
    expected = resource_class.__name__
    if data.get("resourceType") != expected:
        raise FhirError(
            400,
            f"Ressource attendue : {expected} ; reçue : {data.get('resourceType') or 'aucune'}.",
            code="structure",
        )
    try:
        return resource_class.model_validate(data)
    except ValidationError as exc:
        raise validation_error(expected, exc) from None
    except (ValueError, TypeError) as exc:
        raise FhirError(400, f"Ressource {expected} invalide : {exc}", code="structure") from None
    except AttributeError:
        # fhir.resources' url validator calls str methods on whatever it gets (a number
        # in ``url``, found by the fuzzer): a wrong type, not a server error.
        raise FhirError(
            400,
            f"Ressource {expected} invalide : un élément n'a pas le type attendu "
            "(par exemple un nombre là où une adresse est attendue).",
            code="structure",
        ) from None


def _type_code(resource) -> str:
    codings = resource.type.coding if resource.type and resource.type.coding else []
    for coding in codings:
        if coding.code and document_type(coding.code) is not None:
            return coding.code
    shown = ", ".join(f"{c.system or '?'}|{c.code}" for c in codings) or "aucun"
    raise FhirError(
        422,
        f"Type de document inconnu ({shown}) : utilisez un code du référentiel des types de "
        "documents (LOINC ou TRE_A05, ex. http://loinc.org|11490-0).",
        code="code-invalid",
    )


def _content(resource, inline_data: bytes | None) -> tuple[bytes, object]:
    if not resource.content or len(resource.content) != 1:
        raise FhirError(
            422, "Un DocumentReference doit avoir exactement un contenu (content).", code="invalid"
        )
    attachment = resource.content[0].attachment
    if attachment is None:
        raise FhirError(400, "content.attachment est obligatoire.", code="required")
    data = attachment.data if attachment.data is not None else inline_data
    if data is None:
        raise FhirError(
            422,
            "Le contenu du document manque : mettez le fichier encodé en base 64 dans "
            "content.attachment.data (ITI-105), ou une url vers un Binary de la transaction "
            "(ITI-65).",
            code="required",
        )
    if attachment.size is not None and int(attachment.size) != len(data):
        raise FhirError(
            422,
            f"Taille annoncée ({attachment.size} octets) différente de celle du contenu reçu "
            f"({len(data)} octets) : le fichier a peut-être été tronqué.",
            code="invalid",
        )
    if attachment.hash is not None:
        announced = attachment.hash
        if isinstance(announced, bytes):
            announced = base64.b64encode(announced).decode()
        actual = base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - MHD's hash
        if announced != actual:
            raise FhirError(
                422,
                "L'empreinte SHA-1 annoncée (attachment.hash) ne correspond pas au contenu reçu : "
                "le fichier a été altéré ou mal encodé.",
                code="invalid",
            )
    return data, attachment


def _labels(resource) -> dict:
    found = {"confidentiality": Document.Confidentiality.NORMAL}
    for concept in resource.securityLabel or []:
        for coding in concept.coding or []:
            code = coding.code or ""
            if coding.system == CONFIDENTIALITY_SYSTEM or code in ("N", "R", "V"):
                if code not in ("N", "R", "V"):
                    raise FhirError(
                        422,
                        f"Confidentialité « {code} » inconnue (N, R ou V).",
                        code="code-invalid",
                    )
                found["confidentiality"] = code
            elif code in VISIBILITY_CODES:
                found[
                    {
                        "MASQUE_PS": "masked_from_professionals",
                        "INVISIBLE_PATIENT": "invisible_patient",
                        "INVISIBLE_REPRESENTANTS_LEGAUX": "invisible_representatives",
                    }[code]
                ] = True
            else:
                raise unknown_security_label(code)
    return found


def _first_coding(concept) -> tuple[str, str]:
    for coding in (concept.coding or []) if concept else []:
        if coding.code:
            return coding.system or "", coding.code
    return "", ""


def _context(resource) -> dict:
    """The context codes kept on the document: facilityType, practiceSetting, every event."""
    context = resource.context
    if context is None:
        return {}
    return {
        "facility_type": _first_coding(context.facilityType),
        "practice_setting": _first_coding(context.practiceSetting),
        "events": tuple(
            (coding.system or "", coding.code)
            for concept in context.event or []
            for coding in concept.coding or []
            if coding.code
        ),
    }


def _declared_texts_and_dates(resource, attachment) -> tuple[date | None, date | None]:
    """Check the texts and dates the sender declared; return context.period's (start, end).

    A text hiding characters (control, bidirectional override) is refused.
    A date in the future or before 1900 is refused, naming the element, never replaced.
    A partial date ("2024") is kept out of the checks: it says too little to compare.
    """
    for element, text in (
        ("description", resource.description),
        ("content.attachment.title", attachment.title),
    ):
        hidden = hidden_characters(text or "", f"L'élément {element}", multiline=True)
        if hidden:
            raise FhirError(422, hidden, code="value")
    period = resource.context.period if resource.context else None
    start = period.start if period else None
    end = period.end if period else None
    for element, value in (
        ("date", resource.date),
        ("content.attachment.creation", attachment.creation),
        ("context.period.start", start),
        ("context.period.end", end),
    ):
        if isinstance(value, date):  # a datetime is a date too
            refused = record.implausible_date(value, f"La date {element}")
            if refused:
                raise FhirError(422, refused, code="value")
    start = start if isinstance(start, date) else None
    end = end if isinstance(end, date) else None
    if start and end and record.aware(start) > record.aware(end):
        raise FhirError(
            422,
            f"context.period : le début ({start:%d/%m/%Y}) est après la fin ({end:%d/%m/%Y}).",
            code="value",
        )
    return start, end


def _replaced_reference(resource) -> str | None:
    """The reference of the document this one replaces (``relatesTo``), None when none."""
    for relation in resource.relatesTo or []:
        if relation.code != "replaces":
            raise FhirError(
                422,
                f"Relation « {relation.code} » non prise en charge (seule « replaces »).",
                code="not-supported",
            )
        return (relation.target.reference or "") if relation.target else ""
    return None


def deposit(
    caller: Caller,
    resource,
    inline_data: bytes | None = None,
    idempotency: record.Idempotency | None = None,
) -> record.Deposit:
    """Store the document a DocumentReference carries, through ``record.deposit``.

    With ``idempotency`` (the ``Idempotency-Key`` header), a retry of the same
    request gets the first deposit's document back (``record.deposit_once``).
    """
    if resource.status != "current":
        raise FhirError(
            422,
            f"Un nouveau document doit avoir le statut « current » (reçu : « {resource.status} »).",
            code="value",
        )
    patient = patients.from_reference(
        resource.subject.reference if resource.subject else None,
        resource.subject.identifier if resource.subject else None,
    )
    if patient is None:
        raise FhirError(
            422,
            "Aucun espace santé ne correspond à ce patient : vérifiez son INS.",
            code="not-found",
        )
    type_code = _type_code(resource)
    data, attachment = _content(resource, inline_data)
    labels = _labels(resource)
    master = resource.masterIdentifier.value if resource.masterIdentifier else ""
    if not patient.space_is_open:
        raise FhirError(
            403,
            "L'espace santé de ce patient n'est pas ouvert (fermé, suspendu ou pas encore créé) : "
            "aucun document ne peut y être déposé.",
            code="forbidden",
        )
    reference = _replaced_reference(resource)
    service_start, service_end = _declared_texts_and_dates(resource, attachment)
    when = attachment.creation or resource.date
    if not isinstance(when, date | datetime):
        when = None  # a partial date ("2024") says too little: the deposit date is used
    title = resource.description or attachment.title or ""
    meta = record.NewDocument(
        title=title,
        type_code=type_code,
        source=Document.Source.PROFESSIONAL,
        document_date=when,
        author_professional=caller.professional,
        author_organization=caller.client.organization,
        master_identifier=(master or "")[:200],
        declared_type=attachment.contentType or "",
        service_start=service_start,
        service_end=service_end,
        **labels,
        **_context(resource),
    )
    try:
        return record.deposit_once(
            caller.actor,
            patient,
            idempotency,
            lambda: record.deposit(
                caller.actor,
                patient,
                io.BytesIO(data),
                meta,
                replaces_id=None if reference is None else reference.rsplit("/", 1)[-1],
            ),
        )
    except UploadRefused as exc:
        if exc.code == "idempotency_mismatch":
            raise FhirError(422, exc.messages[0], code="business-rule") from None
        if exc.code == "storage_full":
            raise storage_full() from exc
        if exc.code == "duplicate_other":
            raise FhirError(409, exc.messages[0], code="duplicate") from None
        if exc.code == "replaced_unknown":
            raise FhirError(
                422,
                f"Le document à remplacer ({reference or 'sans référence'}) est introuvable, ou "
                "n'a pas été déposé par vous ou votre structure.",
                code="not-found",
            ) from None
        status = 413 if exc.code == "too_large" else 422
        raise FhirError(
            status, exc.messages[0], code="too-long" if status == 413 else "invalid"
        ) from None
    except NotAllowed:
        raise FhirError(
            403, "Le dépôt de ce document dans cet espace santé est refusé.", code="forbidden"
        ) from None
