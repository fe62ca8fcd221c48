"""Finding the patient a FHIR request is about: by INS identifier or by id."""

import uuid

from django.core.exceptions import ValidationError

from espace_sante.identity import validators
from espace_sante.identity.models import Person
from espace_sante.identity.reference import INS_SYSTEMS

from .http import FhirError

INS_OIDS = {f"urn:oid:{oid}": oid for oid, _ in INS_SYSTEMS}


def parse_token(value: str) -> tuple[str, str]:
    """``system|value`` (FHIR token), ``value`` alone has no system."""
    system, sep, code = value.partition("|")
    return (system, code) if sep else ("", system)


def ins_lookup(system: str, value: str) -> Person | None:
    """The person with this INS, or None; 400 for an unknown system or a wrong NIR key."""
    oid = INS_OIDS.get(system)
    if oid is None:
        raise FhirError(
            400,
            f"Système d'identifiant « {system} » inconnu : utilisez l'INS "
            "(urn:oid:1.2.250.1.213.1.4.8 pour le NIR, .9 NIA, .10 test, .11 démonstration).",
            code="value",
        )
    try:
        matricule = validators.validate_nir(value)
    except ValidationError as exc:
        raise FhirError(
            400, f"Matricule INS « {value} » invalide : {exc.messages[0]}", code="value"
        ) from None
    return Person.objects.filter(ins_system=oid, ins_matricule=matricule).first()


def by_id(value: str) -> Person | None:
    try:
        return Person.objects.filter(pk=uuid.UUID(str(value))).first()
    except (ValueError, TypeError):
        return None


def from_reference(reference: str | None, identifier=None) -> Person | None:
    """``Patient/{id}``, ``Patient?identifier=system|value`` or an INS identifier."""
    if reference:
        if reference.startswith("Patient?identifier="):
            system, value = parse_token(reference.split("=", 1)[1])
            return ins_lookup(system, value)
        if reference.startswith("Patient/"):
            return by_id(reference.split("/", 1)[1])
        raise FhirError(
            400,
            f"Référence au patient « {reference} » non comprise : utilisez Patient/{{id}} ou "
            "Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR>.",
            code="value",
        )
    if identifier is not None and identifier.system and identifier.value:
        return ins_lookup(identifier.system, identifier.value)
    raise FhirError(
        400,
        "Le patient (subject) est obligatoire : référence Patient/{id} ou identifiant INS.",
        code="required",
    )
