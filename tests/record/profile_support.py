"""Shared by the profile tests: who acts, and sample data for every section."""

import time
from datetime import date

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import actor_for_user

MARKER = "MARQUEUR-SECRET-42"

# For each list section: data to add, data to change it to, and a text shown for each.
SAMPLES = {
    "conditions": (
        {"name": "Asthme d'effort", "start_date": "2010-04-01"},
        {"name": "Asthme allergique", "start_date": "2010-04-01", "end_date": "2020-01-01"},
        "Asthme d'effort",
        "Asthme allergique",
    ),
    "treatments": (
        {"name": "Ventoline 100 µg", "dosage": "2 bouffées si besoin", "start_date": "2019-01-10"},
        {"name": "Ventoline 100 µg", "dosage": "1 bouffée si besoin", "cip_code": "3400930000007"},
        "2 bouffées si besoin",
        "1 bouffée si besoin",
    ),
    "allergies": (
        {"substance": "Arachide", "reaction": "Gonflement des lèvres", "severity": "severe"},
        {"substance": "Arachide", "reaction": "Choc anaphylactique", "severity": "severe"},
        "Gonflement des lèvres",
        "Choc anaphylactique",
    ),
    "vaccinations": (
        {"vaccine": "Grippe saisonnière", "vaccinated_on": "2025-10-15", "lot_number": "AB123"},
        {"vaccine": "Grippe saisonnière", "vaccinated_on": "2025-10-16", "lot_number": "AB124"},
        "AB123",
        "AB124",
    ),
    "hospitalisations": (
        {"place": "CHU de Toulouse", "reason": "Appendicite", "start_date": "2015-06-01"},
        {
            "place": "CHU de Toulouse",
            "reason": "Appendicectomie",
            "start_date": "2015-06-01",
            "end_date": "2015-06-04",
        },
        "Appendicite",
        "Appendicectomie",
    ),
    "family_history": (
        {"relation": "mere", "condition": "Cancer du sein"},
        {"relation": "grand_parent", "condition": "Cancer du sein à 50 ans"},
        "Mère",
        "Grand-parent",
    ),
    "disabilities": (
        {"kind": "sensoriel", "rate": "50_79", "technical_help": "Appareil auditif"},
        {"kind": "sensoriel", "rate": "80_plus", "technical_help": "Implant cochléaire"},
        "Appareil auditif",
        "Implant cochléaire",
    ),
    "contacts": (
        {"kind": "urgence", "name": "Paul DURAND", "relation": "Conjoint", "phone": "0623456789"},
        {"kind": "confiance", "name": "Paul DURAND", "relation": "Époux", "phone": "0623456789"},
        "Conjoint",
        "Époux",
    ),
}
SLUGS = {
    "conditions": "maladies",
    "treatments": "traitements",
    "allergies": "allergies",
    "vaccinations": "vaccinations",
    "hospitalisations": "hospitalisations",
    "family_history": "antecedents-familiaux",
    "disabilities": "handicaps",
    "contacts": "entourage",
}

# Every free-text field of every section, filled with the marker.
MARKED = {
    "conditions": {"name": MARKER},
    "treatments": {"name": MARKER, "dosage": MARKER},
    "allergies": {"substance": MARKER, "reaction": MARKER, "severity": "severe"},
    "vaccinations": {
        "vaccine": MARKER,
        "vaccinated_on": date(2024, 1, 5),
        "lot_number": MARKER,
        "performer": MARKER,
        "route": "IM",
        "site": "bras_gauche",
    },
    "screenings": {"exam": "mammographie", "place": MARKER, "done_on": date(2024, 3, 1)},
    "hospitalisations": {"place": MARKER, "reason": MARKER, "start_date": date(2020, 1, 1)},
    "family_history": {"relation": "pere", "condition": MARKER},
    "disabilities": {"kind": "moteur", "technical_help": MARKER, "human_help": MARKER},
    "contacts": {
        "kind": "confiance",
        "name": MARKER,
        "relation": MARKER,
        "phone": "+33 6 12 34 56 78",
        "email": "marqueur-secret-42@example.org",
    },
}


def actor(person_or_professional):
    return actor_for_user(person_or_professional.user)


def denials(patient, object_type: str, **actor_fields):
    return AuditEntry.objects.filter(
        patient_id=patient.id,
        object_type=object_type,
        outcome=AuditEntry.Outcome.DENIED,
        **actor_fields,
    )


def sign_in_professional(client, user) -> None:
    """A professional's session that passed TOTP (what allauth records after the code)."""
    client.force_login(user)
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [
        {"method": "mfa", "type": "totp", "at": time.time()}
    ]
    session.save()
