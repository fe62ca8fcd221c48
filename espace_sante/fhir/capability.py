"""The CapabilityStatement: exactly what this server does, no more."""

from django.conf import settings

from .search import SUPPORTED


def _param(name: str, kind: str, doc: str) -> dict:
    return {"name": name, "type": kind, "documentation": doc}


DOC_PARAM_TYPES = {
    "status": "token",
    "type": "token",
    "category": "token",
    "identifier": "token",
    "security-label": "token",
    "format": "token",
    "relatesto": "reference",
    "author.identifier": "token",
    "creation": "date",
    "date": "date",
    "period": "date",
    "period-start": "date",
    "period-end": "date",
    "setting": "token",
    "facility": "token",
    "event": "token",
}


# What each search parameter matches: FHIR forbids empty strings, and a client reads this.
DOC_PARAM_HELP = {
    "status": "Obligatoire : current, superseded ou entered-in-error.",
    "type": "Type du document (code LOINC ou du jeu de valeurs du DMP), système|code.",
    "category": "Classe du document (classCode), système|code.",
    "identifier": "masterIdentifier du document, ou urn:uuid:{id}.",
    "security-label": "Confidentialité N, R ou V, ou visibilité (MASQUE_PS, INVISIBLE_PATIENT…).",
    "format": "formatCode du contenu, système|code.",
    "relatesto": "Le document que celui-ci remplace : DocumentReference/{id}.",
    "author.identifier": "RPPS de l'auteur (11 chiffres, 12 avec le 8) ou FINESS (9 chiffres).",
    "creation": "Date de l'acte (attachment.creation), avec préfixes ge, le, gt, lt, eq.",
    "date": "Date du dépôt (DocumentReference.date), avec préfixes ge, le, gt, lt, eq.",
    "period": "Période de prise en charge (context.period) contenant cette date.",
    "period-start": "Début de la période de prise en charge (context.period.start).",
    "period-end": "Fin de la période de prise en charge (context.period.end).",
    "setting": "Spécialité (context.practiceSetting), système|code.",
    "facility": "Type de structure (context.facilityType), système|code.",
    "event": "Acte ou événement (context.event), système|code.",
}


def statement(base: str) -> dict:
    document_params = [
        _param("patient", "reference", "Obligatoire (ou patient.identifier)."),
        _param("patient.identifier", "token", "INS : urn:oid:1.2.250.1.213.1.4.8|<NIR>."),
        *[_param(name, DOC_PARAM_TYPES[name], DOC_PARAM_HELP[name]) for name in sorted(SUPPORTED)],
        _param("_count", "number", "20 par défaut, 100 au plus."),
        _param("_sort", "string", "-date (par défaut) ou date."),
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-29",
        "kind": "instance",
        "publisher": "espace-santé",
        "software": {"name": "espace-santé", "version": "0.1"},
        "implementation": {
            "description": "Gestionnaire de partage de documents (PDSm / IHE MHD) d'espace-santé",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "instantiates": [
            "https://profiles.ihe.net/ITI/MHD/CapabilityStatement/IHE.MHD.DocumentRecipient",
            "https://profiles.ihe.net/ITI/MHD/CapabilityStatement/IHE.MHD.DocumentResponder",
        ],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": (
                        "OAuth2 client credentials auprès de "
                        f"{settings.SITE_URL.rstrip('/')}/o/token/ avec une assertion "
                        "private_key_jwt signée par la clé enregistrée du logiciel ; chaque "
                        "requête porte en plus l'en-tête X-Acting-Professional (JWT signé : sub = "
                        "RPPS, profession, organization = FINESS, access_mode, jti, exp ≤ 5 min)."
                    ),
                },
                "interaction": [
                    {
                        "code": "transaction",
                        "documentation": "ITI-65 : une List SubmissionSet, des DocumentReference "
                        "et leurs Binary ; tout ou rien.",
                    }
                ],
                "resource": [
                    {
                        "type": "DocumentReference",
                        "interaction": [
                            {"code": "create"},
                            {"code": "read"},
                            {"code": "search-type"},
                            {
                                "code": "patch",
                                "documentation": "JSON Patch, conditionnel par identifier : "
                                "status (entered-in-error), securityLabel (sauf MASQUE_PS) et "
                                "l'extension isArchived seulement, par le producteur du document.",
                            },
                        ],
                        "versioning": "versioned",
                        "conditionalCreate": False,
                        "conditionalUpdate": True,
                        "searchParam": document_params,
                    },
                    {
                        "type": "List",
                        "interaction": [{"code": "search-type"}],
                        "documentation": "Lots de soumission (SubmissionSet) reçus par ITI-65 ; "
                        "seuls apparaissent les documents que le lecteur peut voir.",
                        "searchParam": [
                            _param("patient", "reference", "Obligatoire (ou patient.identifier)."),
                            _param("patient.identifier", "token", "INS."),
                            _param(
                                "date",
                                "date",
                                "Date du lot (List.date), avec préfixes ge, le, gt, lt, eq.",
                            ),
                            _param("identifier", "token", "uniqueId du lot."),
                            _param("status", "token", "current."),
                            _param("code", "token", "submissionset."),
                            _param("source", "token", "sourceId."),
                        ],
                    },
                    {
                        "type": "AuditEvent",
                        "interaction": [{"code": "search-type"}],
                        "documentation": "Le journal des accès du patient, servi au patient "
                        "lui-même (jeton d'un citoyen portant patient/AuditEvent.rs), forme "
                        "IHE BALP.",
                        "searchParam": [_param("patient", "reference", "Obligatoire.")],
                    },
                    {
                        "type": "Communication",
                        "interaction": [
                            {
                                "code": "create",
                                "documentation": "Messagerie sécurisée. Logiciel de professionnel "
                                ": nouvelle conversation (subject = Patient, topic.text = objet, "
                                "payload = texte et pièces jointes en base 64, extension "
                                "reply-mode : reply, blocked ou none ; sender = Organization pour "
                                "la messagerie de la structure) ou réponse (inResponseTo / "
                                "partOf = Communication/{id}). Application d'un patient (jeton "
                                "patient/Communication.c) : réponse dans une conversation "
                                "ouverte, ou ordonnance à une pharmacie (recipient = "
                                "Organization/{id}) seulement.",
                            },
                            {"code": "read", "documentation": "Pièces jointes incluses."},
                            {"code": "search-type"},
                        ],
                        "searchParam": [
                            _param("patient", "reference", "Vos conversations avec ce patient."),
                            _param("patient.identifier", "token", "INS."),
                            _param("part-of", "reference", "Une conversation : Communication/{id}"),
                        ],
                    },
                    {
                        "type": "Appointment",
                        "documentation": "L'agenda du patient. Logiciel de professionnel : "
                        "rendez-vous pris pour un patient avec qui le professionnel a une "
                        "relation (médecin traitant, équipe de soins, consentement), lus, "
                        "modifiés et annulés par leur auteur (lui ou sa structure) seulement. "
                        "Application d'un patient : selon ses portées patient/Appointment.*. "
                        "start et end sont des instants avec décalage horaire ; le fuseau du "
                        "rendez-vous est l'extension "
                        "http://hl7.org/fhir/StructureDefinition/timezone (Europe/Paris par "
                        "défaut), dont start doit porter le décalage (ou Z). Conservés : "
                        "status, start, end, minutesDuration, description (le motif), "
                        "participant Patient (obligatoire), Practitioner et Location (leur "
                        "display) ; tout autre élément est refusé.",
                        "interaction": [
                            {"code": "create", "documentation": "status = booked seulement."},
                            {"code": "read"},
                            {"code": "vread", "documentation": "La version courante seulement."},
                            {
                                "code": "update",
                                "documentation": "Par l'auteur : date, durée, motif, lieu, "
                                "praticien ; status = cancelled annule, fulfilled marque passé.",
                            },
                            {
                                "code": "patch",
                                "documentation": "JSON Patch, par exemple sur /status (cancelled).",
                            },
                            {"code": "search-type"},
                        ],
                        "versioning": "versioned",
                        "readHistory": False,
                        "updateCreate": False,
                        "conditionalCreate": False,
                        "conditionalUpdate": False,
                        "searchParam": [
                            _param("patient", "reference", "Obligatoire (ou patient.identifier)."),
                            _param("patient.identifier", "token", "INS."),
                            _param(
                                "date",
                                "date",
                                "Le début du rendez-vous ; eq, ge, gt, le, lt, sa, eb ; répétable.",
                            ),
                            _param("status", "token", "booked, cancelled, fulfilled."),
                            _param("_count", "number", "20 par défaut, 100 au plus."),
                        ],
                    },
                    {
                        "type": "Binary",
                        "interaction": [{"code": "read"}],
                    },
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            _param(
                                "identifier",
                                "token",
                                "INS (urn:oid:1.2.250.1.213.1.4.8, .9, .10, .11) : 0 résultat "
                                "sans espace santé ; active=false quand il est fermé.",
                            )
                        ],
                    },
                ],
            }
        ],
    }
