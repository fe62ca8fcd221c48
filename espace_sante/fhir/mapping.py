"""Our objects as FHIR R4 resources (PDSm / MHD comprehensive metadata, FR Core)."""

import hashlib

from espace_sante.access import events
from espace_sante.identity.models import OPEN_SPACE_STATES, Person
from espace_sante.identity.reference import RPPS_SYSTEM
from espace_sante.record.documents.reference import document_type

from .http import FhirError

URI_SYSTEM = "urn:ietf:rfc:3986"
CLASS_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.1"  # TRE_A03 (XDS classCode)
FORMAT_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.2.282"  # JDV_J60 / TRE_A06 format codes
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
VISIBILITY_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.13"  # TRE_A07 (MASQUE_PS, INVISIBLE_…)
FINESS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
IS_ARCHIVED_URL = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/isArchived"
VISIBILITY_CODES = ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX")

# Our status -> FHIR DocumentReference.status (a withdrawn document is an error entry).
STATUS_TO_FHIR = {"current": "current", "superseded": "superseded", "withdrawn": "entered-in-error"}
FHIR_TO_STATUS = {value: key for key, value in STATUS_TO_FHIR.items()}


def unknown_security_label(code: str) -> FhirError:
    """422 for a security label that is neither a confidentiality nor a visibility code."""
    return FhirError(
        422,
        f"Étiquette de sécurité « {code} » inconnue (N, R, V, {', '.join(VISIBILITY_CODES)}).",
        code="code-invalid",
    )


def instant(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def version_of(document) -> str:
    """A version id that changes whenever what a client can change changes."""
    state = "|".join(
        [
            document.status,
            document.confidentiality,
            str(document.masked_from_professionals),
            str(document.invisible_patient),
            str(document.invisible_representatives),
            str(document.archived),
        ]
    )
    return hashlib.sha256(state.encode()).hexdigest()[:12]


def ins_identifier(person: Person) -> dict:
    return {
        "use": "official",
        "type": {
            "coding": [
                {
                    "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203",
                    "code": "INS-NIR" if person.ins_system.endswith(".8") else "INS-NIA",
                }
            ]
        },
        "system": f"urn:oid:{person.ins_system}",
        "value": person.ins_matricule,
    }


def patient_resource(person: Person) -> dict:
    names = [
        {
            "use": "official",
            "family": person.birth_name,
            "given": person.first_names.split(),
        }
    ]
    if person.used_name:
        names.append({"use": "usual", "family": person.used_name})
    return {
        "resourceType": "Patient",
        "id": str(person.id),
        "meta": {"versionId": "1"},
        "identifier": [ins_identifier(person)],
        # The space is open (created or activated): closed or suspended ones are inactive.
        "active": person.space_state in OPEN_SPACE_STATES,
        "name": names,
        "gender": "female" if person.sex == "F" else "male",
        "birthDate": person.birth_date.isoformat(),
    }


def practitioner(pro) -> dict:
    """A logical reference to a professional, by national id (8 + RPPS)."""
    return {
        "type": "Practitioner",
        "identifier": {"system": RPPS_SYSTEM, "value": pro.id_nat},
        "display": pro.display_name,
    }


def organization(org) -> dict:
    """A logical reference to an organisation, by FINESS."""
    return {
        "type": "Organization",
        "identifier": {"system": FINESS_SYSTEM, "value": org.finess},
        "display": org.name,
    }


def _authors(document) -> list[dict]:
    found = []
    if document.author_professional is not None:
        found.append(practitioner(document.author_professional))
    if document.author_organization is not None:
        found.append(organization(document.author_organization))
    if not found and document.is_patient_owned:
        found.append({"reference": f"Patient/{document.patient_id}"})
    return found


def document_reference(document, title: str, base: str) -> dict:
    doc_type = document_type(document.type_code)
    labels = [
        {
            "system": CONFIDENTIALITY_SYSTEM,
            "code": document.confidentiality,
        }
    ]
    labels += [
        {"system": VISIBILITY_SYSTEM, "code": code}
        for code in document.security_labels
        if code in VISIBILITY_CODES
    ]
    resource = {
        "resourceType": "DocumentReference",
        "id": str(document.id),
        "meta": {"versionId": version_of(document), "lastUpdated": instant(document.created_at)},
        "identifier": [{"system": URI_SYSTEM, "value": f"urn:uuid:{document.id}"}],
        "status": STATUS_TO_FHIR.get(document.status, "current"),
        "type": {
            "coding": [
                {
                    "system": doc_type.system_uri if doc_type else "",
                    "code": document.type_code,
                    "display": doc_type.label if doc_type else document.type_code,
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": CLASS_SYSTEM,
                        "code": document.class_code,
                        "display": doc_type.category_label if doc_type else "",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{document.patient_id}"},
        "date": instant(document.created_at),
        "author": _authors(document),
        "description": title,
        "securityLabel": [{"coding": [label]} for label in labels],
        "content": [
            {
                "attachment": {
                    "contentType": document.mime_type,
                    "language": "fr-FR",
                    "url": f"{base}/Binary/{document.id}",
                    "size": document.size,
                    "title": title,
                    "creation": instant(document.document_date),
                },
                "format": {"system": FORMAT_SYSTEM, "code": document.format_code},
            }
        ],
    }
    resource["extension"] = [{"url": IS_ARCHIVED_URL, "valueBoolean": bool(document.archived)}]
    if document.master_identifier:
        resource["masterIdentifier"] = {"system": URI_SYSTEM, "value": document.master_identifier}
    if document.author_organization is not None:
        resource["custodian"] = organization(document.author_organization)
    if document.replaces_id:
        resource["relatesTo"] = [
            {
                "code": "replaces",
                "target": {"reference": f"DocumentReference/{document.replaces_id}"},
            }
        ]
    context = {}
    if document.service_start or document.service_end:
        period = {}
        if document.service_start:
            period["start"] = instant(document.service_start)
        if document.service_end:
            period["end"] = instant(document.service_end)
        context["period"] = period
    if document.facility_type_code:
        context["facilityType"] = _concept(
            document.facility_type_system, document.facility_type_code
        )
    if document.practice_setting_code:
        context["practiceSetting"] = _concept(
            document.practice_setting_system, document.practice_setting_code
        )
    # "system|code": a system is a URI, which has no "|".
    events = [_concept(*event.split("|", 1)) for event in document.event_codes or []]
    if events:
        context["event"] = events
    if context:
        resource["context"] = context
    return resource


def _concept(system: str, code: str) -> dict:
    """A CodeableConcept of one coding; FHIR forbids an empty system, so none is written."""
    return {"coding": [{"system": system, "code": code} if system else {"code": code}]}


def searchset(entries: list[dict], total: int, links: list[tuple[str, str]], base: str) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links],
        "entry": [
            {
                "fullUrl": f"{base}/{entry['resourceType']}/{entry['id']}",
                "resource": entry,
                "search": {"mode": "match"},
            }
            for entry in entries
        ],
    }


# --- AuditEvent, shaped like IHE BALP ------------------------------------------

PURPOSES = {
    "emergency_btg": ("ETREAT", "Accès d'urgence (bris de glace)"),
    "emergency_samu": ("ETREAT", "Accès d'urgence (régulation du SAMU)"),
    "titulaire": ("PATRQT", "Le patient lui-même"),
    "representative": ("PATRQT", "Représentant légal"),
    "caregiver": ("PATRQT", "Aidant"),
    "system": ("HOPERAT", "Traitement automatique"),
}


def audit_event(entry, professionals: dict, organizations: dict, apps: dict) -> dict:
    try:
        action, interaction = events.get(entry.action).balp
    except events.UnknownEvent:  # an entry older than the registry
        action, interaction = events.BALP_EXECUTE
    agents = []
    pro = professionals.get(str(entry.actor_professional_id))
    if pro is not None:
        agent = {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": "IRCP",
                        "display": "information recipient",
                    }
                ]
            },
            "who": {
                "identifier": {"system": RPPS_SYSTEM, "value": pro.id_nat},
                "display": f"{pro.display_name}, {pro.profession_label.lower()}",
            },
            "requestor": True,
        }
        org = organizations.get(str(entry.actor_organization_id))
        if org is not None:
            agent["location"] = {"display": org.name}
        agents.append(agent)
    elif entry.actor_kind == "patient":
        agents.append(
            {
                "who": {"reference": f"Patient/{entry.actor_person_id}"},
                "requestor": True,
            }
        )
    else:
        agents.append({"who": {"display": entry.actor_kind}, "requestor": True})
    if entry.acting_for:
        agents.append(
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://dicom.nema.org/resources/ontology/DCM",
                            "code": "110150",
                            "display": "Application",
                        }
                    ]
                },
                "who": {
                    "identifier": {"value": entry.acting_for},
                    "display": apps.get(entry.acting_for, entry.acting_for),
                },
                "requestor": False,
            }
        )
    entities = [
        {
            "what": {"reference": f"Patient/{entry.patient_id}"},
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "1",
                "display": "Person",
            },
            "role": {
                "system": "http://terminology.hl7.org/CodeSystem/object-role",
                "code": "1",
                "display": "Patient",
            },
        }
    ]
    # The FHIR resource each traced object is served as (others: the patient alone).
    resource_type = {"document": "DocumentReference", "agenda:appointment": "Appointment"}.get(
        entry.object_type
    )
    if resource_type and entry.object_id:
        entities.append(
            {
                "what": {"reference": f"{resource_type}/{entry.object_id}"},
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "2",
                    "display": "System Object",
                },
            }
        )
    resource = {
        "resourceType": "AuditEvent",
        "id": str(entry.id),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "Restful Operation",
        },
        "action": action,
        "recorded": instant(entry.at),
        "outcome": "0" if entry.outcome == "allowed" else "4",
        "agent": agents,
        "source": {
            "observer": {"display": "espace-santé"},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
        "entity": entities,
    }
    if interaction:
        resource["subtype"] = [
            {"system": "http://hl7.org/fhir/restful-interaction", "code": interaction}
        ]
    if entry.outcome != "allowed":
        resource["outcomeDesc"] = "Accès refusé"
    if entry.mode:
        code, text = PURPOSES.get(entry.mode, ("TREAT", entry.mode))
        resource["purposeOfEvent"] = [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": code}
                ],
                "text": text,
            }
        ]
    return resource


def submission_set(subset, visible_ids: list[str]) -> dict:
    """An ITI-66 SubmissionSet List with the entries the reader may see."""
    resource = {
        "resourceType": "List",
        "id": str(subset.id),
        "meta": {"versionId": "1"},
        "identifier": [{"use": "usual", "system": URI_SYSTEM, "value": subset.unique_id}],
        "status": "current",
        "mode": "working",
        "code": {
            "coding": [
                {
                    "system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                    "code": "submissionset",
                }
            ]
        },
        "subject": {"reference": f"Patient/{subset.patient_id}"},
        "date": instant(subset.created_at),
        "entry": [{"item": {"reference": f"DocumentReference/{doc_id}"}} for doc_id in visible_ids],
    }
    if subset.source_id:
        resource["extension"] = [
            {
                "url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
                "valueIdentifier": {"value": subset.source_id},
            }
        ]
    if subset.author_professional is not None:
        resource["source"] = practitioner(subset.author_professional)
    return resource
