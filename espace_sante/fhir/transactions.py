"""ITI-65 "provide document bundle": a transaction Bundle stored all or nothing.

One SubmissionSet ``List``, one or more ``DocumentReference`` (each
``attachment.url`` pointing at a ``Binary`` of the bundle, or inline data),
their ``Binary`` resources. Every document goes through ``deposit`` (the same
checks, policy and audit as ITI-105) inside one ``record.deposit_batch``; if an
entry fails, the batch rolls back (the record deletes the blobs it wrote), and
the answer names the entry that failed.
"""

import base64
import binascii
from dataclasses import dataclass

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.list import List as FhirList

from espace_sante.record.documents import services as record

from . import documents, mapping
from .auth import Caller
from .http import FhirError
from .models import SubmissionSet

LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
SOURCE_ID_URL = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId"


@dataclass
class _Entry:
    index: int
    full_url: str
    kind: str
    raw: dict


def _fail(entry: _Entry, error: FhirError) -> FhirError:
    return FhirError(
        error.status,
        f"Entrée n°{entry.index + 1} ({entry.kind}) : {error.diagnostics} Rien n'a été enregistré.",
        code=error.code,
        headers=error.headers,
    )


def _list_kind(resource: dict) -> str:
    for coding in (resource.get("code") or {}).get("coding") or []:
        if coding.get("code") in ("submissionset", "folder"):
            return coding["code"]
    return ""


def _entries(bundle: dict) -> list[_Entry]:
    if bundle.get("type") != "transaction":
        raise FhirError(
            400,
            f"Seules les Bundle de type « transaction » sont acceptées ici (reçu : "
            f"« {bundle.get('type')} »).",
            code="invalid",
        )
    found = []
    for index, raw in enumerate(bundle.get("entry") or []):
        resource = raw.get("resource") or {}
        kind = resource.get("resourceType", "")
        entry = _Entry(index, raw.get("fullUrl", ""), kind, raw)
        request = raw.get("request") or {}
        if request.get("method") != "POST" or request.get("url") != kind:
            raise _fail(
                entry,
                FhirError(
                    422,
                    f"chaque entrée doit être un POST sur son type ({kind}).",
                    code="not-supported",
                ),
            )
        if kind not in ("List", "DocumentReference", "Binary"):
            raise _fail(
                entry,
                FhirError(422, f"ressource {kind} non acceptée dans ITI-65.", code="not-supported"),
            )
        found.append(entry)
    return found


def _binaries(entries: list[_Entry]) -> dict[str, bytes]:
    found = {}
    for entry in entries:
        if entry.kind != "Binary":
            continue
        try:
            found[entry.full_url] = base64.b64decode(
                entry.raw["resource"].get("data") or "", validate=True
            )
        except (binascii.Error, ValueError):
            raise _fail(
                entry, FhirError(400, "data n'est pas du base 64 valide.", code="structure")
            ) from None
    return found


def _binary_for(reference: str, binaries: dict[str, bytes]) -> bytes | None:
    if not reference:
        return None
    for key in (reference, f"urn:uuid:{reference.rsplit('/', 1)[-1]}"):
        if key in binaries:
            return binaries[key]
    return None


def _source_id(resource) -> str:
    for extension in resource.extension or []:
        if extension.url == SOURCE_ID_URL and extension.valueIdentifier is not None:
            return extension.valueIdentifier.value or ""
    return ""


def provide(caller: Caller, bundle: dict, base: str) -> dict:
    """Store the bundle, all or nothing; return the ``transaction-response``."""
    try:
        Bundle.model_validate(bundle)
    except Exception as exc:  # noqa: BLE001 - pydantic and fhir-core errors alike
        errors = getattr(exc, "errors", None)
        if callable(errors):
            raise documents.validation_error("Bundle", exc) from None
        raise FhirError(400, f"Bundle invalide : {exc}", code="structure") from None
    entries = _entries(bundle)
    lists = [e for e in entries if e.kind == "List"]
    submission = [e for e in lists if _list_kind(e.raw["resource"]) == "submissionset"]
    if len(submission) != 1 or len(lists) != 1:
        raise FhirError(
            422,
            "Une transaction ITI-65 contient exactement une List SubmissionSet (code "
            "submissionset) ; les dossiers (folder) ne sont pas pris en charge.",
            code="invalid",
        )
    if not any(e.kind == "DocumentReference" for e in entries):
        raise FhirError(422, "La transaction ne contient aucun DocumentReference.", code="invalid")
    binaries = _binaries(entries)
    set_entry = submission[0]
    try:
        set_resource = FhirList.model_validate(set_entry.raw["resource"])
    except Exception as exc:  # noqa: BLE001
        raise _fail(set_entry, FhirError(400, str(exc).splitlines()[0], code="structure")) from None
    unique_id = (
        next((i.value for i in set_resource.identifier or [] if i.value), "") or set_entry.full_url
    )
    unique_id = unique_id[:200]
    created_any = False
    results: dict[int, dict] = {}
    by_full_url: dict[str, str] = {}
    with record.deposit_batch():
        patient = None
        doc_ids = []
        for entry in entries:
            if entry.kind != "DocumentReference":
                continue
            try:
                resource = documents.parse(DocumentReference, entry.raw["resource"])
                attachment = resource.content[0].attachment if resource.content else None
                inline = _binary_for(attachment.url if attachment else "", binaries)
                result = documents.deposit(caller, resource, inline_data=inline)
            except FhirError as error:
                raise _fail(entry, error) from None
            document = result.document
            created_any = created_any or result.created
            if patient is not None and document.patient_id != patient:
                raise _fail(
                    entry,
                    FhirError(
                        422,
                        "tous les documents doivent concerner le même patient.",
                        code="invalid",
                    ),
                )
            patient = document.patient_id
            doc_ids.append(str(document.id))
            version = mapping.version_of(document)
            results[entry.index] = {
                "status": "201 Created" if result.created else "200 OK",
                "location": f"DocumentReference/{document.id}/_history/{version}",
                "etag": f'W/"{version}"',
            }
            by_full_url[entry.full_url] = str(document.id)
            if attachment is not None and attachment.url:
                by_full_url[attachment.url] = str(document.id)
        subset = SubmissionSet.objects.filter(patient_id=patient, unique_id=unique_id).first()
        if subset is not None:
            if created_any:
                raise FhirError(
                    409,
                    f"Le lot de soumission « {unique_id} » a déjà été reçu avec d'autres "
                    "documents : donnez à ce lot un identifiant unique.",
                    code="duplicate",
                )
            # The same bundle sent again (a retry): nothing new, the same answer.
        else:
            subset = SubmissionSet.objects.create(
                patient_id=patient,
                unique_id=unique_id,
                source_id=_source_id(set_resource)[:200],
                content_type=(
                    set_resource.code.coding[0].code
                    if set_resource.code and set_resource.code.coding
                    else ""
                )[:64],
                client=caller.client,
                author_professional=caller.professional,
                author_organization=caller.client.organization,
                document_ids=doc_ids,
            )
    response_entries = []
    for entry in entries:
        if entry.kind == "DocumentReference":
            response = results[entry.index]
        elif entry.kind == "Binary":
            document_id = by_full_url.get(entry.full_url, "")
            response = {"status": "201 Created", "location": f"Binary/{document_id}"}
        else:
            response = {"status": "201 Created", "location": f"List/{subset.id}"}
        response_entries.append({"response": response})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": response_entries}
