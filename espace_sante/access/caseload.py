"""A professional's patients and the emergency accesses to them: the portal's home.

Only relations (who is whose médecin traitant, consents, care teams, roles) and
the emergency accesses, never health content: the portal home lists names and
reasons of access; opening a patient's record goes through the guarded services.
The emergency accesses are the médecin traitant's to see (access.md: he is told
of each one, by email, and the email sends him here).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from espace_sante.identity.models import OPEN_SPACE_STATES, Person

from .consent_models import CareRelationship, Consent, EmergencyAccess, PatientRole
from .policy import Actor, ActorKind

# How far back the home looks for emergency accesses.
EMERGENCY_DAYS = 30
MAX_PATIENTS = 200
ROLE_LABELS: dict[str, str] = {
    PatientRole.Kind.ADMINISTRATEUR: "Vous administrez son dossier",
    PatientRole.Kind.SAGE_FEMME: "Vous êtes sa sage-femme référente",
    PatientRole.Kind.PHARMACIEN: "Vous êtes son pharmacien correspondant",
}


@dataclass(frozen=True)
class CaseloadPatient:
    person: Person
    relation: str  # why this professional reaches the record, in French
    since: datetime | None


@dataclass(frozen=True)
class EmergencyNotice:
    emergency: EmergencyAccess
    ongoing: bool


def patients_of(actor: Actor | None) -> list[CaseloadPatient]:
    """The patients the professional reaches, with the strongest reason first, by name."""
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        return []
    found: dict[str, CaseloadPatient] = {}

    def add(person: Person, relation: str, since: datetime | None) -> None:
        if str(person.id) not in found and person.space_state in OPEN_SPACE_STATES:
            found[str(person.id)] = CaseloadPatient(person, relation, since)

    pro = str(actor.professional_id)
    for person in Person.objects.filter(medecin_traitant_id=pro)[:MAX_PATIENTS]:  # type: ignore[misc]  # id text, see policy.Id
        add(person, "Vous êtes son médecin traitant", None)
    for role in PatientRole.objects.filter(professional_id=pro).select_related("patient")[
        :MAX_PATIENTS
    ]:
        add(role.patient, ROLE_LABELS.get(role.kind, "Rôle dans son dossier"), role.created_at)
    for consent in (
        Consent.objects.filter(professional_id=pro, revoked_at__isnull=True)
        .select_related("patient")
        .order_by("-given_at")[:MAX_PATIENTS]
    ):
        add(consent.patient, "Consentement du patient", consent.given_at)
    if actor.organization_id:
        for care in (
            CareRelationship.objects.filter(
                organization_id=actor.organization_id, ended_at__isnull=True, objected=False
            )
            .select_related("patient")
            .order_by("-started_at")[:MAX_PATIENTS]
        ):
            add(care.patient, "Équipe de soins de votre structure", care.started_at)
    return sorted(found.values(), key=lambda row: row.person.display_name.casefold())


def emergencies_for_medecin_traitant(
    actor: Actor | None, now: datetime | None = None
) -> list[EmergencyNotice]:
    """Emergency accesses of the last 30 days to the patients whose médecin traitant he is."""
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        return []
    now = now or timezone.now()
    rows = (
        EmergencyAccess.objects.filter(
            Q(patient__medecin_traitant_id=str(actor.professional_id)),
            started_at__gte=now - timedelta(days=EMERGENCY_DAYS),
        )
        .exclude(professional_id=str(actor.professional_id))
        .select_related("patient", "professional", "organization")
        .order_by("-started_at")[:100]
    )
    return [EmergencyNotice(row, row.expires_at > now) for row in rows]
