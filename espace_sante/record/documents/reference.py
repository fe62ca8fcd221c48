"""Document reference data (shared/domain/documents.md), shipped as data files.

Loaded once per process; unknown codes are refused by the services.
"""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LOINC_SYSTEM = "http://loinc.org"
TRE_A05_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.12"

CLASSES = {
    "10": "Compte rendu",
    "11": "Synthèse",
    "31": "Imagerie médicale",
    "42": "Prescription",
    "43": "Dispensation",
    "44": "Plan / protocole de soins",
    "45": "Traitement administré",
    "52": "Certificat, déclaration",
    "60": "Données de remboursement",
    "90": "Documents déposés par le patient",
    "95": "Document de gestion",
}

# Patient-facing categories, in the order the documents page shows them.
CATEGORIES = {
    "SYNTHESE": "Ma santé en résumé",
    "ORD_SOIN": "Ordonnances et soins",
    "BIOLOGIE": "Résultats de biologie",
    "RADIO_SC": "Radio, écho, scanner, IRM",
    "CPT_REND": "Comptes rendus",
    "DEPISTAG": "Prévention et dépistages",
    "CERT_MED": "Certificats médicaux",
    "SYNTH_PML": "Synthèse médicale",
    "DIR_ANT": "Directives anticipées",
    "QUEST_SANTE": "Questionnaire santé",
    "DOC_ADM": "Pièces administratives",
    "AUTR_DOC": "Autres documents",
}

# What a patient picks when depositing: category -> DOCPAT type code.
PATIENT_CATEGORY_TYPES = {
    "SYNTHESE": "DOCPAT01",
    "ORD_SOIN": "DOCPAT02",
    "CPT_REND": "DOCPAT03",
    "RADIO_SC": "DOCPAT04",
    "BIOLOGIE": "DOCPAT05",
    "DEPISTAG": "DOCPAT06",
    "CERT_MED": "DOCPAT07",
    "DIR_ANT": "EXPPAT_3",
    "DOC_ADM": "DOCPAT09",
}

# JDV_J60 format codes of what we store.
FORMAT_CODES = {
    "application/pdf": "urn:ihe:iti:xds-sd:pdf:2008",
    "text/plain": "urn:ihe:iti:xds-sd:text:2008",
    "image/jpeg": "urn:ihe:iti-fr:xds-sd:jpeg:2010",
    "image/png": "urn:ihe:iti-fr:xds-sd:jpeg:2010",
    "image/tiff": "urn:ihe:iti-fr:xds-sd:tiff:2010",
    "text/rtf": "urn:ihe:iti-fr:xds-sd:rtf:2010",
}
FORMAT_CDA_N3 = "urn:asip:ci-sis:cda-n3"


@dataclass(frozen=True)
class DocumentType:
    code: str
    system: str
    label: str
    class_code: str
    category: str

    @property
    def system_uri(self) -> str:
        return LOINC_SYSTEM if self.system == "LOINC" else TRE_A05_SYSTEM

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]


@cache
def document_types() -> dict[str, DocumentType]:
    path = Path(__file__).with_name("data") / "document_types.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: DocumentType(**row) for row in csv.DictReader(handle)}


def document_type(code: str) -> DocumentType | None:
    return document_types().get(code)
