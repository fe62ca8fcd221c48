"""Conditional PATCH of a DocumentReference (PDSm metadata update), JSON Patch (RFC 6902).

The patch is applied to the resource as we serve it; then only ``status``,
``securityLabel`` and the ``isArchived`` extension may differ. Anything else
is answered 405, as the guide says. The change itself goes through
``record.documents.changes.update_deposit`` (author only, traced).
"""

import jsonpatch
import jsonpointer

from espace_sante.record.documents import services as record

from .http import FhirError, parse_json, read_body
from .mapping import (
    CONFIDENTIALITY_SYSTEM,
    IS_ARCHIVED_URL,
    STATUS_TO_FHIR,
    VISIBILITY_CODES,
    document_reference,
    unknown_security_label,
)

CHANGEABLE = {"status", "securityLabel", "extension"}
PATCH_MEDIA = ("application/json-patch+json", "application/json")


def read_operations(request) -> list:
    """The JSON Patch a request carries: its media type, its JSON, a non-empty list."""
    media = request.content_type or ""
    if media not in PATCH_MEDIA:
        raise FhirError(
            415,
            f"Un PATCH s'envoie en JSON Patch (application/json-patch+json), pas « {media} ».",
            code="not-supported",
        )
    operations = parse_json(read_body(request), "Le JSON Patch n'est pas un JSON valide.")
    if not isinstance(operations, list) or not operations:
        raise FhirError(400, "Un JSON Patch est une liste d'opérations non vide.", code="structure")
    return operations


def read_patch(request) -> list:
    """A DocumentReference patch: only the elements a sender may change."""
    operations = read_operations(request)
    for operation in operations:
        path = str(operation.get("path", "")) if isinstance(operation, dict) else ""
        top = path.lstrip("/").split("/", 1)[0]
        if top not in CHANGEABLE:
            raise FhirError(
                405,
                f"Seuls status, securityLabel et l'extension isArchived peuvent être modifiés "
                f"(chemin refusé : « {path or '?'} »).",
                code="not-supported",
            )
    return operations


def _labels(resource: dict) -> tuple[str, set[str]]:
    confidentiality, visibility = "N", set()
    for concept in resource.get("securityLabel") or []:
        for coding in (concept or {}).get("coding") or []:
            code = (coding or {}).get("code", "")
            if code in ("N", "R", "V") and coding.get("system", CONFIDENTIALITY_SYSTEM) in (
                CONFIDENTIALITY_SYSTEM,
                "",
            ):
                confidentiality = code
            elif code in VISIBILITY_CODES:
                visibility.add(code)
            else:
                raise unknown_security_label(code)
    return confidentiality, visibility


def _archived(resource: dict) -> bool:
    for extension in resource.get("extension") or []:
        if (extension or {}).get("url") == IS_ARCHIVED_URL:
            value = extension.get("valueBoolean")
            if not isinstance(value, bool):
                raise FhirError(422, "isArchived attend valueBoolean.", code="value")
            return value
    return False


def apply(actor, document, operations: list, base: str):
    """Apply ``operations`` to ``document`` (already accessed by its author); return it."""
    title = record.document_title(document)
    before = document_reference(document, title, base)
    try:
        after = jsonpatch.apply_patch(before, operations)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        if isinstance(exc, jsonpatch.JsonPatchTestFailed):
            raise FhirError(
                409, f"Le test du JSON Patch a échoué : {exc}", code="conflict"
            ) from None
        raise FhirError(422, f"JSON Patch inapplicable : {exc}", code="invalid") from None
    except (TypeError, KeyError, ValueError) as exc:
        raise FhirError(400, f"JSON Patch invalide : {exc}", code="structure") from None
    for name in set(before) | set(after):
        if name in CHANGEABLE or name == "meta":
            continue
        if before.get(name) != after.get(name):
            raise FhirError(405, f"« {name} » ne peut pas être modifié.", code="not-supported")
    other_extensions = [
        e for e in after.get("extension") or [] if (e or {}).get("url") != IS_ARCHIVED_URL
    ]
    if other_extensions:
        raise FhirError(
            405, "Seule l'extension isArchived peut être modifiée.", code="not-supported"
        )
    status = after.get("status")
    if status not in (STATUS_TO_FHIR[document.status], "entered-in-error"):
        raise FhirError(
            422,
            f"Statut « {status} » impossible ici : un document peut seulement être retiré "
            "(entered-in-error) ; le remplacer se fait par un nouveau dépôt (relatesTo replaces).",
            code="value",
        )
    confidentiality, visibility = _labels(after)
    if ("MASQUE_PS" in visibility) != document.masked_from_professionals:
        raise FhirError(
            403,
            "Masquer un document aux professionnels (MASQUE_PS) ou le démasquer est un choix "
            "du patient, dans son espace santé.",
            code="forbidden",
        )
    change = record.DepositChange(
        withdraw=status == "entered-in-error" and document.status != "withdrawn",
        confidentiality=confidentiality,
        invisible_patient="INVISIBLE_PATIENT" in visibility,
        invisible_representatives="INVISIBLE_REPRESENTANTS_LEGAUX" in visibility,
        archived=_archived(after),
    )
    return record.update_deposit(actor, document, change)
