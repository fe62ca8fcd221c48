"""Changing who may access a record: settings, blocks, consent, roles, emergencies, aidants.

Each verb checks who may change what, writes its audit entry in the same
transaction, and raises ``AccessChangeRefused`` with a French sentence when
the change is not possible.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from espace_sante.identity.models import Organization, Person, Professional, Role

from . import audit
from .consent_models import (
    AccessSettings,
    Block,
    Caregiver,
    CareRelationship,
    Consent,
    EmergencyAccess,
    PatientRole,
)
from .dates import french_date, french_datetime
from .guard import Access, guard, refuse
from .policy import (
    SETTINGS_FIELDS,
    Actor,
    ActorKind,
    Id,
    Mode,
    NotAllowed,
    is_titulaire,
    professional_relation,
)

MAX_CAREGIVERS = 3
MAX_CARED_FOR = 5


class AccessChangeRefused(ValidationError):
    """A change the rules do not allow; the message says why."""


def require_patient_side(actor: Actor | None, patient: Person, what: str) -> Access:
    """The titulaire (or a representative, or an aidant) manages the space's access.

    A refusal is traced and raised as ``NotAllowed``; pages that only show a
    form call this first. The change that follows traces itself with the
    returned access (``what`` is its audit event).
    """
    return guard(actor, what, patient.id, object_type="access", trace=False)


def _require_professional(actor: Actor | None) -> Id:
    """The acting professional's id; ``NotAllowed`` for anyone else."""
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        raise NotAllowed
    return actor.professional_id


def _open_blocks(patient: Person, professional_id: Id) -> QuerySet[Block]:
    return Block.objects.filter(
        patient=patient, professional_id=professional_id, lifted_at__isnull=True
    )


def _open_consents(patient: Person, professional_id: Id) -> QuerySet[Consent]:
    return Consent.objects.filter(
        patient=patient, professional_id=professional_id, revoked_at__isnull=True
    )


def _lock_patient(patient: Person) -> None:
    """Serialise the patient's access changes (PostgreSQL; SQLite writes one at a time).

    Parallel requests then see each other's block or consent instead of both
    creating one; the partial unique constraints are the last line.
    """
    Person.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()


def _lock_people(*people: Person) -> None:
    """Lock several people's rows, always in the same order (no deadlock between them)."""
    list(
        Person.objects.select_for_update()
        .filter(pk__in=[person.pk for person in people])
        .order_by("pk")
        .values_list("pk")
    )


def settings_for(patient: Person) -> AccessSettings:
    return AccessSettings.objects.get_or_create(patient=patient)[0]


@transaction.atomic
def update_settings(actor: Actor | None, patient: Person, **changes: bool) -> AccessSettings:
    """Change emergency settings, default masking, or "mask everything"."""
    managing = require_patient_side(actor, patient, "settings")
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Unknown settings: {sorted(unknown)}")
    current = AccessSettings.objects.select_for_update().get_or_create(patient=patient)[0]
    if changes.get("mask_everything", current.mask_everything):
        # "Everything masked, emergencies included": masked documents stay hidden
        # in an emergency too, whatever else is asked.
        changes["emergency_masked"] = False
    changed = []
    for name, value in changes.items():
        if getattr(current, name) != bool(value):
            setattr(current, name, bool(value))
            changed.append(name)
    if changed:
        current.save()
        managing.trace(
            object_type="access_settings",
            reason=", ".join(
                f"{name}={'oui' if getattr(current, name) else 'non'}" for name in changed
            ),
        )
    return current


@transaction.atomic
def block_professional(actor: Actor | None, patient: Person, professional: Professional) -> Block:
    """Block a professional: they read nothing more, and their consent ends."""
    managing = require_patient_side(actor, patient, "block")
    if patient.medecin_traitant_id == professional.id:
        raise AccessChangeRefused(
            "Votre médecin traitant ne peut pas être bloqué. Pour en changer, déclarez un "
            "nouveau médecin traitant auprès de votre caisse d'assurance maladie.",
            code="medecin_traitant",
        )
    _lock_patient(patient)
    existing = _open_blocks(patient, professional.id).first()
    if existing:
        return existing
    now = timezone.now()
    _open_consents(patient, professional.id).update(revoked_at=now, revoked_reason="blocage")
    PatientRole.objects.filter(patient=patient, professional=professional).delete()
    try:
        with transaction.atomic():
            block = Block.objects.create(patient=patient, professional=professional, created_at=now)
    except IntegrityError:  # a parallel request blocked them first
        return _open_blocks(patient, professional.id).get()
    managing.trace(block, object_type="block", reason=str(professional.id))
    return block


@transaction.atomic
def unblock_professional(actor: Actor | None, patient: Person, professional: Professional) -> bool:
    """Lift a block; the professional must ask for consent again. False if none."""
    managing = require_patient_side(actor, patient, "unblock")
    lifted = _open_blocks(patient, professional.id).update(lifted_at=timezone.now())
    if lifted:
        managing.trace(object_type="block", reason=str(professional.id))
    return bool(lifted)


@transaction.atomic
def record_consent(actor: Actor, patient: Person) -> Consent:
    """A professional records the consent the patient, present, just gave them."""
    professional_id = _require_professional(actor)
    _lock_patient(patient)
    if _open_blocks(patient, professional_id).exists():
        # Told in words that reveal nothing of the record.
        raise AccessChangeRefused(
            "Le consentement ne peut pas être enregistré pour ce patient. Invitez-le à vérifier "
            "ses paramètres de confidentialité dans son espace santé.",
            code="blocked",
        )
    consent = _open_consents(patient, professional_id).first()
    if consent is not None:
        return consent
    try:
        with transaction.atomic():
            consent = Consent.objects.create(
                patient=patient,
                professional_id=professional_id,
                organization_id=actor.organization_id,
            )
    except IntegrityError:  # a parallel request recorded it first
        return _open_consents(patient, professional_id).get()
    audit.record(actor, "consent", patient.id, obj=consent, mode=Mode.CONSENT)
    return consent


@transaction.atomic
def revoke_consent(actor: Actor | None, patient: Person, professional: Professional) -> bool:
    managing = require_patient_side(actor, patient, "revoke_consent")
    revoked = _open_consents(patient, professional.id).update(
        revoked_at=timezone.now(), revoked_reason="retrait par le patient"
    )
    if revoked:
        managing.trace(object_type="consent", reason=str(professional.id))
    return bool(revoked)


@transaction.atomic
def set_role(
    actor: Actor | None, patient: Person, professional: Professional, kind: str
) -> PatientRole:
    """Name a professional administrateur, sage-femme référente or pharmacien correspondant."""
    managing = require_patient_side(actor, patient, "role")
    kind = PatientRole.Kind(kind)
    if kind == PatientRole.Kind.SAGE_FEMME and professional.profession != "50":
        raise AccessChangeRefused("Seule une sage-femme peut être sage-femme référente.")
    if kind == PatientRole.Kind.PHARMACIEN and professional.profession != "21":
        raise AccessChangeRefused("Seul un pharmacien peut être pharmacien correspondant.")
    if _open_blocks(patient, professional.id).exists():
        raise AccessChangeRefused(
            "Ce professionnel est bloqué : débloquez-le avant de lui donner un rôle."
        )
    role, created = PatientRole.objects.get_or_create(
        patient=patient, professional=professional, kind=kind
    )
    if created:
        managing.trace(role, object_type="role", reason=f"{kind}:{professional.id}")
    return role


@transaction.atomic
def remove_role(
    actor: Actor | None, patient: Person, professional: Professional, kind: str
) -> bool:
    managing = require_patient_side(actor, patient, "remove_role")
    deleted, _ = PatientRole.objects.filter(
        patient=patient, professional=professional, kind=kind
    ).delete()
    if deleted:
        managing.trace(object_type="role", reason=f"{kind}:{professional.id}")
    return bool(deleted)


@transaction.atomic
def declare_care_team(actor: Actor, patient: Person) -> CareRelationship:
    """The professional's organisation takes care of the patient (who is informed)."""
    professional_id = _require_professional(actor)
    if (
        not actor.organization_id
        or not Role.objects.filter(
            professional_id=professional_id,
            organization_id=actor.organization_id,
            end_date__isnull=True,
        ).exists()
    ):
        raise AccessChangeRefused(
            "Choisissez d'abord la structure pour laquelle vous exercez.", code="organization"
        )
    # Parallel declarations then find the first one (one_active_care_team is the last line).
    _lock_patient(patient)
    relation, created = CareRelationship.objects.get_or_create(
        patient=patient, organization_id=actor.organization_id, ended_at=None
    )
    if created:
        audit.record(actor, "care_team", patient.id, obj=relation, mode=Mode.CARE_TEAM)
    return relation


@transaction.atomic
def object_to_care_team(actor: Actor | None, patient: Person, organization: Organization) -> None:
    managing = require_patient_side(actor, patient, "care_team_objection")
    # Only a change is traced: a repeated objection finds nothing left to change.
    changed = CareRelationship.objects.filter(
        patient=patient, organization=organization, ended_at__isnull=True, objected=False
    ).update(objected=True)
    if changed:
        managing.trace(object_type="care_team", reason=str(organization.id))


def start_emergency_access(
    actor: Actor, patient: Person, kind: str, justification: str
) -> EmergencyAccess:
    """Open a time-limited emergency access, if the patient's settings allow it.

    The patient and the médecin traitant are told afterwards (notifications).
    Refused (traced, nobody emailed) when the settings forbid it or the patient
    blocked this professional.
    """
    professional_id = _require_professional(actor)
    kind = EmergencyAccess.Kind(kind)
    justification = " ".join((justification or "").split())
    if len(justification) < 10:
        raise AccessChangeRefused(
            "Écrivez pourquoi l'accès d'urgence est nécessaire (10 caractères au moins) : "
            "cette justification est montrée au patient.",
            code="justification",
        )
    current = settings_for(patient)
    allowed = current.emergency_samu if kind == EmergencyAccess.Kind.SAMU else current.emergency_btg
    # access.md: a blocked professional reads nothing, in any mode. The refusal
    # reads like a patient's refusal, so it does not tell him he is blocked.
    if allowed and _open_blocks(patient, professional_id).exists():
        allowed = False
    if not allowed:
        audit.record(
            actor,
            "emergency",
            patient.id,
            object_type="emergency",
            allowed=False,
            reason=f"{kind} : {justification}",
        )
        raise AccessChangeRefused(
            "Ce patient a refusé l'accès d'urgence à son dossier.", code="emergency_refused"
        )
    now = timezone.now()
    mode = Mode.EMERGENCY_SAMU if kind == EmergencyAccess.Kind.SAMU else Mode.EMERGENCY_BTG
    # Only the granted access is one transaction: a refusal's trace (above) must
    # not be rolled back with it.
    with transaction.atomic():
        # A second click (or a retry) while this professional's access runs opens no
        # second one: the patient and the médecin traitant are told once.
        _lock_patient(patient)
        running = EmergencyAccess.objects.filter(
            patient=patient, professional_id=professional_id, kind=kind, expires_at__gt=now
        ).first()
        if running is not None:
            return running
        access = EmergencyAccess.objects.create(
            patient=patient,
            professional_id=professional_id,
            organization_id=actor.organization_id,
            kind=kind,
            justification=justification,
            started_at=now,
            expires_at=now + timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
        )
        audit.record(
            actor,
            "emergency",
            patient.id,
            obj=access,
            reason=f"{mode} : {justification}",
            mode=mode,
        )
    return access


def active_emergency(actor: Actor | None, patient: Person) -> EmergencyAccess | None:
    """The professional's own emergency access to this record still running, if any."""
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or actor.professional_id is None:
        return None  # (a filter on a null professional finds nothing either)
    return (
        EmergencyAccess.objects.filter(
            patient=patient, professional_id=actor.professional_id, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


@transaction.atomic
def invite_caregiver(actor: Actor | None, patient: Person, caregiver: Person) -> Caregiver:
    """An adult titulaire chooses an aidant (3 at most; an aidant helps 5 people at most)."""
    if not is_titulaire(actor, patient.id):
        raise NotAllowed
    # Both limits are counted with both people locked: parallel invitations wait
    # and count the ones made before them (one_active_caregiver is the last line).
    _lock_people(patient, caregiver)
    active = (Caregiver.Status.WAITING, Caregiver.Status.ACCEPTED)
    existing = Caregiver.objects.filter(patient=patient, caregiver=caregiver, status__in=active)
    if existing.exists():
        return existing.get()
    if Caregiver.objects.filter(patient=patient, status__in=active).count() >= MAX_CAREGIVERS:
        raise AccessChangeRefused(f"Vous avez déjà {MAX_CAREGIVERS} aidants : c'est le maximum.")
    if Caregiver.objects.filter(caregiver=caregiver, status__in=active).count() >= MAX_CARED_FOR:
        raise AccessChangeRefused(
            f"Cette personne aide déjà {MAX_CARED_FOR} personnes : c'est le maximum."
        )
    link = Caregiver.objects.create(
        patient=patient, caregiver=caregiver, status=Caregiver.Status.WAITING
    )
    audit.record(actor, "caregiver_invite", patient.id, obj=link)
    return link


@transaction.atomic
def answer_caregiver_invitation(actor: Actor | None, link: Caregiver, accept: bool) -> Caregiver:
    if actor is None or str(actor.person_id) != str(link.caregiver_id):
        raise NotAllowed
    answer = Caregiver.Status.ACCEPTED if accept else Caregiver.Status.REFUSED
    # The first answer holds: the same answer again changes nothing, another is refused.
    link = Caregiver.objects.select_for_update().get(pk=link.pk)
    if link.status == answer:
        return link
    if link.status != Caregiver.Status.WAITING:
        raise AccessChangeRefused("Cette invitation a déjà reçu une réponse.", code="answered")
    link.status = answer
    link.save(update_fields=["status"])
    audit.record(actor, "caregiver_answer", link.patient_id, obj=link, reason=link.status)
    return link


@dataclass
class ProfessionalAccess:
    professional: Professional
    reasons: list[str]
    blocked: bool = False
    consent: Consent | None = None
    is_medecin_traitant: bool = False
    role_kinds: list[str] = field(default_factory=list)
    emergency_until: datetime | None = None  # datetime of the end of a running emergency access
    has_access: bool = False  # what the policy decides today, whatever the roles say


def professionals_with_access(actor: Actor | None, patient: Person) -> list[ProfessionalAccess]:
    """Who can see the record and why, for the patient's Paramètres page."""
    require_patient_side(actor, patient, "list_access")
    now = timezone.now()
    found: dict[uuid.UUID, ProfessionalAccess] = {}

    def entry(pro: Professional) -> ProfessionalAccess:
        return found.setdefault(pro.id, ProfessionalAccess(pro, []))

    if patient.medecin_traitant:
        item = entry(patient.medecin_traitant)
        item.reasons.append("Médecin traitant")
        item.is_medecin_traitant = True
    for role in PatientRole.objects.filter(patient=patient).select_related("professional"):
        item = entry(role.professional)
        item.reasons.append(role.get_kind_display())
        item.role_kinds.append(role.kind)
    for consent in Consent.objects.filter(patient=patient, revoked_at__isnull=True).select_related(
        "professional"
    ):
        item = entry(consent.professional)
        item.reasons.append(f"Votre consentement du {french_date(consent.given_at)}")
        item.consent = consent
    for emergency in EmergencyAccess.objects.filter(
        patient=patient, expires_at__gt=now
    ).select_related("professional"):
        item = entry(emergency.professional)
        item.reasons.append(
            f"{emergency.get_kind_display()} jusqu'au {french_datetime(emergency.expires_at)}"
        )
        item.emergency_until = emergency.expires_at
    for block in Block.objects.filter(patient=patient, lifted_at__isnull=True).select_related(
        "professional"
    ):
        entry(block.professional).blocked = True
    for item in found.values():
        actor_of = Actor(
            ActorKind.PROFESSIONAL,
            professional_id=item.professional.id,
            profession=item.professional.profession,
        )
        relation = professional_relation(actor_of, patient.id)
        item.has_access = relation.mode is not None and not relation.blocked
    return sorted(found.values(), key=lambda item: (item.blocked, item.professional.last_name))


def identity_shown(actor: Actor | None, patient: Person, *, found_by_traits: bool) -> bool:
    """May a professional's page name this patient (name, sex, birth date, INS)?

    Only after finding them by their traits (INS and identity, the portal's
    search) or with a reason the policy knows (médecin traitant, consent, care
    team, emergency): a UUID alone names nobody. A refusal is traced.
    """
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        return False
    relation = professional_relation(actor, patient.id)
    if found_by_traits or (relation.mode is not None and not relation.blocked):
        return True
    refuse(actor, "identity", patient.id, object_type="patient")
    return False


def trace_identity(actor: Actor, patient: Person) -> None:
    """A page named the patient without listing documents (which is traced as such)."""
    audit.record(actor, "identity", patient.id, object_type="patient")


@transaction.atomic
def trace_lookup(actor: Actor | None, patient: Person) -> None:
    """Software checked that this person has a space: traced, not decided, not notified.

    Nothing of the record is read: the answer is the identity the software sent.
    """
    audit.record(actor, "lookup", patient.id, object_type="patient")
