"""The one decision point for health data (docs/domain/access.md).

Services ask through ``access.guard`` (which decides here, then traces);
lists go through the queryset filters here (``visible_documents``). Deny by
default: an actor kind, action, profession or document type this module does
not know is refused.

Length (about 900 lines) on purpose: every rule of who may see what — the
patient's side, professionals, apps, messaging, settings — sits in one module
that a reviewer reads whole and that the oracle (tests/access/
test_policy_oracle.py) and the mutants (bench/mutants.py) aim at.
"""

import uuid
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from . import scopes

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    from .consent_models import AccessSettings, MatrixCell

# A patient's (or a professional's, an organisation's) id: a UUID, or its text.
# Django takes the text in a foreign-key lookup, the stubs want a UUID: those
# lookups carry ``type: ignore[misc]`` ("id text, see Id").
Id = uuid.UUID | str

_T = TypeVar("_T")
_M = TypeVar("_M", bound=Model)


# Columns are plain attributes of these protocols; what the model computes stays a property.


class DocumentLike(Protocol):
    """What the policy reads of a document (``record.Document``; the kernel does not import it)."""

    invisible_patient: bool
    invisible_representatives: bool
    masked_from_professionals: bool
    status: str
    type_code: str
    author_professional_id: uuid.UUID | None
    author_organization_id: uuid.UUID | None

    @property
    def is_patient_owned(self) -> bool: ...


class ConversationLike(Protocol):
    """What the policy reads of a conversation (``messaging.Conversation``)."""

    patient_id: uuid.UUID
    sender_professional_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    patient_deleted_at: datetime | None
    closed_at: datetime | None

    @property
    def patient_may_reply(self) -> bool: ...


class Action(StrEnum):
    READ = "read"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    MASK = "mask"
    REPLACE = "replace"
    WITHDRAW = "withdraw"


READING = {Action.READ, Action.LIST}


class ActorKind(StrEnum):
    PATIENT = "patient"  # a citizen, in their own space or one they act for
    PROFESSIONAL = "professional"
    APP = "app"  # a connected app of the catalogue, through its scopes
    OPERATOR = "operator"  # campaigns and statistics: never health data
    SUPPORT = "support"  # helps people: never health data
    SYSTEM = "system"  # the service's own background work


class Mode(StrEnum):
    """Why an access was allowed; shown to the patient in their history."""

    TITULAIRE = "titulaire"
    REPRESENTATIVE = "representative"
    CAREGIVER = "caregiver"
    MEDECIN_TRAITANT = "medecin_traitant"
    ADMINISTRATEUR = "administrateur"
    CARE_TEAM = "care_team"
    CONSENT = "consent"
    EMERGENCY_BTG = "emergency_btg"
    EMERGENCY_SAMU = "emergency_samu"
    AUTHOR = "author"
    DEPOSIT = "deposit"
    APP = "app"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    user_id: int | None = None
    person_id: Id | None = None  # Person.id of a citizen actor
    professional_id: Id | None = None
    organization_id: Id | None = None  # the organisation a professional acts for
    profession: str = ""
    acting_for: str = ""  # a software client, or "aidant" / "representant"
    scopes: frozenset[str] = field(default_factory=frozenset)  # connected apps

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.person_id or self.professional_id or self.user_id}"


SYSTEM = Actor(ActorKind.SYSTEM)


class NotAllowed(PermissionDenied):
    """Refused by the policy. Views answer 404 to people who may not know the object."""


def actor_for_user(
    user: "AbstractBaseUser | AnonymousUser | None", organization_id: Id | None = None
) -> Actor | None:
    """The actor behind a signed-in account; None only for nobody signed in.

    An operator is an actor too, whom the policy refuses everything: their
    attempts on health data are then traced as theirs, never as anonymous.
    """
    if not user or not user.is_authenticated:
        return None
    person = getattr(user, "person", None)
    if person is not None:
        return Actor(ActorKind.PATIENT, user_id=user.pk, person_id=person.id)
    professional = getattr(user, "professional", None)
    if professional is not None:
        return Actor(
            ActorKind.PROFESSIONAL,
            user_id=user.pk,
            professional_id=professional.id,
            organization_id=organization_id,
            profession=professional.profession,
        )
    if getattr(user, "kind", None) == "operator":
        return Actor(ActorKind.OPERATOR, user_id=user.pk)
    return None


# --- Relations --------------------------------------------------------------


def is_titulaire(actor: Actor | None, patient_id: Id) -> bool:
    return (
        actor is not None
        and actor.kind == ActorKind.PATIENT
        and str(actor.person_id) == str(patient_id)
    )


def _is_minor(patient_id: Id) -> bool:
    from espace_sante.identity.models import Person

    birth = Person.objects.filter(pk=patient_id).values_list("birth_date", flat=True).first()
    if birth is None:
        return False
    today = timezone.localdate()
    return (today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))) < 18


def is_representative(actor: Actor | None, patient_id: Id) -> bool:
    """A legal representative of a minor (the access ends at 18)."""
    from espace_sante.identity.models import LegalRepresentative

    if actor is None or actor.kind != ActorKind.PATIENT or is_titulaire(actor, patient_id):
        return False
    return LegalRepresentative.objects.filter(  # type: ignore[misc]  # id text, see Id
        represented_id=patient_id,
        representative_id=actor.person_id,
        status=LegalRepresentative.Status.ACCEPTED,
    ).exists() and _is_minor(patient_id)


def is_caregiver(actor: Actor | None, patient_id: Id) -> bool:
    from .consent_models import Caregiver

    if actor is None or actor.kind != ActorKind.PATIENT or is_titulaire(actor, patient_id):
        return False
    return Caregiver.objects.filter(  # type: ignore[misc]  # id text, see Id
        patient_id=patient_id, caregiver_id=actor.person_id, status=Caregiver.Status.ACCEPTED
    ).exists()


def space_is_open(patient_id: Id) -> bool:
    """The space exists and is open (created or activated): see lifecycle.md."""
    from espace_sante.identity.models import OPEN_SPACE_STATES, Person

    return Person.objects.filter(pk=patient_id, space_state__in=OPEN_SPACE_STATES).exists()


def patient_side_mode(actor: Actor | None, patient_id: Id) -> Mode | None:
    """How a citizen reaches this space: their own, as representative, as aidant.

    Nobody reaches a space that is not open: before creation there is nothing,
    after closing the data are archived, out of everyone's reach.
    """
    if actor is None or actor.kind != ActorKind.PATIENT or not space_is_open(patient_id):
        return None
    if is_titulaire(actor, patient_id):
        return Mode.TITULAIRE
    if is_representative(actor, patient_id):
        return Mode.REPRESENTATIVE
    if is_caregiver(actor, patient_id):
        return Mode.CAREGIVER
    return None


@dataclass(frozen=True)
class ProfessionalRelation:
    """What links a professional to a patient, computed once per decision."""

    space_open: bool

    blocked: bool
    mode: Mode | None  # the reason to access, or None
    privileged: bool  # médecin traitant or administrateur: sees masked documents
    emergency: bool
    profession: str
    settings: "AccessSettings"

    @property
    def allowed_types(self) -> frozenset[str]:
        """Document types the profession may read (the matrix), asked only when needed."""
        return _allowed_types(self.profession)


# --- One request, one computation ------------------------------------------
#
# A request asks the policy several times about the same professional and
# patient (the access check, then the SQL filter of a list, the default
# masking of a deposit). Inside ``request_memo()`` the relation, the settings
# and the profession's document types are computed once. The memo lives in a
# context variable: one per request and per thread, gone when the block ends.
# Anything that may change a relation forgets it at once: every access verb
# writes an audit entry (``audit.record`` calls ``forget``), and saving or
# deleting a relation row does too (``signals.py``).

_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("espace_sante_policy_memo", default=None)


@contextmanager
def request_memo() -> Iterator[None]:
    """Remember relations for the duration of the block (one request)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def forget() -> None:
    """Drop what the memo remembers: a relation, a setting or the matrix may have changed."""
    memo = _memo.get()
    if memo:
        memo.clear()


def _remembered(key: Hashable, compute: Callable[[], _T]) -> _T:
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return cast(_T, memo[key])  # what compute() gave for this key


SETTINGS_FIELDS = (
    "emergency_samu",
    "emergency_btg",
    "emergency_masked",
    "mask_new_documents",
    "mask_everything",
)


def access_settings(patient_id: Id) -> "AccessSettings":
    from .consent_models import AccessSettings

    def compute() -> AccessSettings:
        found = AccessSettings.objects.filter(  # type: ignore[misc]  # id text, see Id
            patient_id=patient_id
        ).first()
        return found or AccessSettings(patient_id=patient_id)

    return _remembered(("settings", str(patient_id)), compute)


def _allowed_types(profession: str) -> frozenset[str]:
    from .matrix import allowed_types

    if not profession:
        return frozenset()
    return _remembered(("types", profession), lambda: allowed_types(profession))


def _allowed_types_query(profession: str) -> "QuerySet[MatrixCell, Any]":
    from .consent_models import MatrixCell

    return MatrixCell.objects.filter(profession=profession, allowed=True).values("type_code")


def professional_relation(actor: Actor, patient_id: Id) -> ProfessionalRelation:
    """What links ``actor`` (a professional) to the patient: one query, once per request."""
    return _remembered(
        ("relation", actor, str(patient_id)), lambda: _professional_relation(actor, patient_id)
    )


def _relation_sql() -> str:
    """The relation query, written once per process from the models' table names.

    Plain SQL that SQLite and PostgreSQL both run: building the same query with
    the ORM's Exists/Subquery cost about 4 ms of CPU per request, the database
    answers it in well under one (every EXISTS uses an index starting with
    patient_id). tests/access covers each relation on both databases.
    """
    from espace_sante.identity.models import Person, Role

    from .consent_models import (
        AccessSettings,
        Block,
        CareRelationship,
        Consent,
        EmergencyAccess,
        PatientRole,
    )

    settings_columns = ", ".join(f"s.{name}" for name in SETTINGS_FIELDS)
    # Only table and column names of our own models are formatted in; every value
    # is a query parameter.
    return f"""
        SELECT p.medecin_traitant_id, p.space_state,
            EXISTS (SELECT 1 FROM {Block._meta.db_table} b WHERE b.patient_id = p.id
                    AND b.professional_id = %s AND b.lifted_at IS NULL),
            EXISTS (SELECT 1 FROM {PatientRole._meta.db_table} r WHERE r.patient_id = p.id
                    AND r.professional_id = %s AND r.kind = %s),
            EXISTS (SELECT 1 FROM {CareRelationship._meta.db_table} c WHERE c.patient_id = p.id
                    AND c.organization_id = %s AND c.ended_at IS NULL AND NOT c.objected)
            AND EXISTS (SELECT 1 FROM {Role._meta.db_table} o WHERE o.professional_id = %s
                    AND o.organization_id = %s AND o.end_date IS NULL),
            EXISTS (SELECT 1 FROM {Consent._meta.db_table} k WHERE k.patient_id = p.id
                    AND k.professional_id = %s AND k.revoked_at IS NULL),
            (SELECT e.kind FROM {EmergencyAccess._meta.db_table} e WHERE e.patient_id = p.id
                    AND e.professional_id = %s AND e.expires_at > %s
                    ORDER BY e.expires_at DESC LIMIT 1),
            s.patient_id IS NOT NULL, {settings_columns}
        FROM {Person._meta.db_table} p
        LEFT JOIN {AccessSettings._meta.db_table} s ON s.patient_id = p.id
        WHERE p.id = %s
    """  # noqa: S608


_RELATION_SQL: str | None = None
RELATION_COLUMNS = (
    "medecin_traitant_id",
    "space_state",
    "is_blocked",
    "is_administrateur",
    "in_care_team",
    "has_consent",
    "emergency_kind",
    "has_settings",
    *(f"access_settings__{name}" for name in SETTINGS_FIELDS),
)


def _relation_row(actor: Actor, patient_id: Id) -> dict[str, Any] | None:
    """Every relation of the professional to the patient, in one query; None without patient."""
    from django.db import connection

    from espace_sante.identity.models import Person, Professional

    from .consent_models import EmergencyAccess, PatientRole

    global _RELATION_SQL
    if _RELATION_SQL is None:
        _RELATION_SQL = _relation_sql()
    uuid_field = Professional._meta.pk
    try:
        pro = uuid_field.get_db_prep_value(actor.professional_id, connection)
        org = (
            uuid_field.get_db_prep_value(actor.organization_id, connection)
            if actor.organization_id
            else None  # "= NULL" is never true: no care team without an organisation
        )
        patient = Person._meta.pk.get_db_prep_value(patient_id, connection)
    except ValidationError:
        return None
    now = EmergencyAccess._meta.get_field("expires_at").get_db_prep_value(
        timezone.now(), connection
    )
    params = [
        pro,
        pro,
        PatientRole.Kind.ADMINISTRATEUR.value,
        org,
        pro,
        org,
        pro,
        pro,
        now,
        patient,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_RELATION_SQL, params)
        found = cursor.fetchone()
    if found is None:
        return None
    row = dict(zip(RELATION_COLUMNS, found, strict=True))
    mt = row["medecin_traitant_id"]
    row["medecin_traitant_id"] = Person._meta.get_field("medecin_traitant").to_python(mt)
    for name in SETTINGS_FIELDS:
        value = row[f"access_settings__{name}"]
        row[f"access_settings__{name}"] = None if value is None else bool(value)
    return row


def _professional_relation(actor: Actor, patient_id: Id) -> ProfessionalRelation:
    from espace_sante.identity.models import OPEN_SPACE_STATES

    from .consent_models import AccessSettings, EmergencyAccess

    pro = actor.professional_id
    # Every relation in one query on the patient's row; the reason to access is
    # then chosen in the same order as always.
    row = _relation_row(actor, patient_id)
    if row is None:
        row = {"medecin_traitant_id": None, "space_state": "", "has_settings": False}
    if row["has_settings"]:
        settings = AccessSettings(
            patient_id=patient_id,
            **{name: row[f"access_settings__{name}"] for name in SETTINGS_FIELDS},
        )
    else:
        settings = AccessSettings(patient_id=patient_id)
    memo = _memo.get()
    if memo is not None:
        memo.setdefault(("settings", str(patient_id)), settings)
    medecin_traitant = row["medecin_traitant_id"] is not None and str(
        row["medecin_traitant_id"]
    ) == str(pro)
    administrateur = bool(row.get("is_administrateur"))
    mode = None
    emergency = False
    if medecin_traitant:
        mode = Mode.MEDECIN_TRAITANT
    elif administrateur:
        mode = Mode.ADMINISTRATEUR
    elif row.get("in_care_team"):
        mode = Mode.CARE_TEAM
    elif row.get("has_consent"):
        mode = Mode.CONSENT
    else:
        kind = row.get("emergency_kind")
        if kind == EmergencyAccess.Kind.SAMU and settings.emergency_samu:
            mode, emergency = Mode.EMERGENCY_SAMU, True
        elif kind == EmergencyAccess.Kind.BTG and settings.emergency_btg:
            mode, emergency = Mode.EMERGENCY_BTG, True
    return ProfessionalRelation(
        space_open=row["space_state"] in OPEN_SPACE_STATES,
        blocked=bool(row.get("is_blocked")),
        mode=mode,
        privileged=medecin_traitant or administrateur,
        emergency=emergency,
        profession=actor.profession,
        settings=settings,
    )


# Profile sections professionals may see (access.md): vaccinations; the rest is
# the patient's own unless shared as a document (DOCPAT08).
PROFESSIONAL_PROFILE_SECTIONS = {"profile:vaccinations"}


def _masked_visible(relation: ProfessionalRelation, actor: Actor, document: DocumentLike) -> bool:
    if document.author_professional_id and str(document.author_professional_id) == str(
        actor.professional_id
    ):
        return True
    if relation.privileged:
        return True
    if relation.emergency:
        return relation.settings.emergency_masked and not relation.settings.mask_everything
    return False


def _is_masked(document: DocumentLike, settings: "AccessSettings") -> bool:
    return document.masked_from_professionals or settings.mask_everything


def _owns(actor: Actor, document: DocumentLike) -> bool:
    """A professional (or their organisation) deposited this document."""
    return (
        document.author_professional_id is not None
        and str(document.author_professional_id) == str(actor.professional_id)
    ) or (
        actor.organization_id is not None
        and document.author_organization_id is not None
        and str(document.author_organization_id) == str(actor.organization_id)
    )


def is_author(actor: Actor | None, document: DocumentLike) -> bool:
    """The professional (or their organisation) deposited ``document`` (deduplication, replace)."""
    return actor is not None and actor.kind == ActorKind.PROFESSIONAL and _owns(actor, document)


# --- Decisions --------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    allowed: bool
    mode: Mode | None = None

    def __bool__(self) -> bool:
        return self.allowed


DENY = Decision(False)


def decide(
    actor: Actor | None,
    action: Action,
    patient_id: Id,
    document: DocumentLike | None = None,
    section: str | None = None,
) -> Decision:
    """The decision and its reason. ``document`` and ``section`` narrow the resource."""
    if actor is None:
        return DENY
    action = Action(action)
    if actor.kind == ActorKind.SYSTEM:
        return Decision(True, Mode.SYSTEM)
    if actor.kind == ActorKind.PATIENT:
        return _decide_citizen(actor, action, patient_id, document)
    if actor.kind == ActorKind.PROFESSIONAL:
        return _decide_professional(actor, action, patient_id, document, section)
    if actor.kind == ActorKind.APP:
        return _decide_app(actor, action, patient_id, document, section)
    return DENY  # operators, support, anything unknown


def _decide_citizen(
    actor: Actor, action: Action, patient_id: Id, document: DocumentLike | None
) -> Decision:
    mode = patient_side_mode(actor, patient_id)
    if mode is None or action in (Action.REPLACE, Action.WITHDRAW):
        return DENY
    if document is not None:
        if document.invisible_patient:
            return DENY
        if mode == Mode.REPRESENTATIVE and document.invisible_representatives:
            return DENY
        if action in (Action.UPDATE, Action.DELETE) and not document.is_patient_owned:
            # On a professional's document the patient may only mask or unmask.
            return DENY
    return Decision(True, mode)


def _decide_professional(
    actor: Actor,
    action: Action,
    patient_id: Id,
    document: DocumentLike | None,
    section: str | None,
) -> Decision:
    if not actor.professional_id:
        return DENY
    relation = professional_relation(actor, patient_id)
    if not relation.space_open:
        return DENY  # no space yet, or closed: nothing is deposited, nothing is read
    if action == Action.CREATE and section is None:
        # A professional may always deposit, even blocked or without consent: the
        # patient cannot refuse useful data (traced and notified).
        return Decision(True, relation.mode or Mode.DEPOSIT)
    if action in (Action.REPLACE, Action.WITHDRAW):
        if document is not None and _owns(actor, document):
            return Decision(True, Mode.AUTHOR)
        return DENY
    if action not in READING:
        return DENY  # professionals never edit, delete or mask a patient's data
    if relation.blocked or relation.mode is None:
        return DENY
    if section is not None:
        return Decision(True, relation.mode) if section in PROFESSIONAL_PROFILE_SECTIONS else DENY
    if document is None:
        return Decision(True, relation.mode)  # a list: filtered by visible_documents
    if document.status == "withdrawn" and not _owns(actor, document):
        return DENY
    if document.type_code not in relation.allowed_types:
        return DENY
    if _is_masked(document, relation.settings) and not _masked_visible(relation, actor, document):
        return DENY
    return Decision(True, relation.mode)


# What each data action needs from an app's SMART scopes (access.scopes): reading
# one item is "r", a list is "s"; replacing and withdrawing are professionals' own.
APP_PERMISSIONS = {
    Action.READ: "r",
    Action.LIST: "s",
    Action.CREATE: "c",
    Action.UPDATE: "u",
    Action.MASK: "u",
    Action.DELETE: "d",
}


def _app_grant_scopes(client_id: str, patient_id: Id) -> str:
    """The scopes of the app's active grant on this record ("" without one), once per request."""
    from .grant_models import AppGrant

    def compute() -> str:
        try:
            found = (
                AppGrant.objects.filter(  # type: ignore[misc]  # id text, see Id
                    patient_id=patient_id,
                    application__client_id=client_id,
                    expires_at__gt=timezone.now(),
                )
                .values_list("scopes", flat=True)
                .first()
            )
        except (ValueError, ValidationError):  # not a patient id
            return ""
        return found or ""

    return _remembered(("app_grant", client_id, str(patient_id)), lambda: compute())


def _app_allows(actor: Actor, patient_id: Id, resource: str, permission: str | None) -> bool:
    """The app's scopes allow it and the patient's side granted it on this very record.

    The actor's scopes were cut to its grant when it was built
    (``grants.app_actor``), for the record it was launched for; the grant of
    the record decided on is read again here, so that an actor never carries
    one patient's grant to another record, and a revocation counts at once.
    """
    if permission is None or not actor.acting_for or not actor.person_id:
        return False
    if not scopes.allows(actor.scopes, resource, permission):
        return False
    return scopes.allows(_app_grant_scopes(actor.acting_for, patient_id), resource, permission)


def _citizen_of(actor: Actor) -> Actor:
    """The citizen a connected app acts for: the app may do at most what they may."""
    return Actor(ActorKind.PATIENT, user_id=actor.user_id, person_id=actor.person_id)


def _decide_app(
    actor: Actor,
    action: Action,
    patient_id: Id,
    document: DocumentLike | None,
    section: str | None,
) -> Decision:
    resource = "Observation" if section == "profile:measures" else "DocumentReference"
    if section is not None and section != "profile:measures":
        return DENY  # other profile sections have no FHIR resource an app may be granted
    if not _app_allows(actor, patient_id, resource, APP_PERMISSIONS.get(action)):
        return DENY
    # A citizen who reaches no such record (a stranger) gives their app nothing.
    decision = _decide_citizen(_citizen_of(actor), action, patient_id, document)
    return Decision(True, Mode.APP) if decision else DENY


# --- The agenda ----------------------------------------------------------------

# The section the guard is asked about for appointments (issue 13).
AGENDA = "agenda:appointment"


class AppointmentLike(Protocol):
    """What the policy reads of an appointment (``agenda.Appointment``)."""

    author_professional_id: uuid.UUID | None
    author_organization_id: uuid.UUID | None
    author_app: str


def _authored(actor: Actor, appointment: AppointmentLike | None) -> bool:
    if appointment is None:
        return False
    if actor.kind == ActorKind.APP:
        return bool(appointment.author_app) and appointment.author_app == actor.acting_for
    return _owns(actor, cast(DocumentLike, appointment))


def decide_agenda(
    actor: Actor | None, action: Action, patient_id: Id, appointment: AppointmentLike | None
) -> Decision:
    """Appointments: the person's side does everything in the agenda it reaches.

    A professional adds appointments for a patient they have a relation with
    (médecin traitant, care team, consent; not blocked, not in an emergency),
    and reads or cancels only those they or their organisation added: the rest
    of the agenda is the person's own. A connected app does what its granted
    ``Appointment`` scopes say, and changes only what it added.
    """
    if actor is None:
        return DENY
    action = Action(action)
    if action in (Action.REPLACE, Action.WITHDRAW, Action.MASK):
        return DENY
    if actor.kind == ActorKind.SYSTEM:
        return Decision(True, Mode.SYSTEM)
    if actor.kind == ActorKind.PATIENT:
        mode = patient_side_mode(actor, patient_id)
        return Decision(True, mode) if mode is not None else DENY
    if actor.kind == ActorKind.PROFESSIONAL:
        if not actor.professional_id:
            return DENY
        relation = professional_relation(actor, patient_id)
        if (
            not relation.space_open
            or relation.blocked
            or relation.mode is None
            or relation.emergency
        ):
            return DENY
        if action in (Action.CREATE, Action.LIST):
            return Decision(True, relation.mode)
        if action in (Action.READ, Action.UPDATE) and _authored(actor, appointment):
            return Decision(True, Mode.AUTHOR)
        return DENY
    if actor.kind == ActorKind.APP:
        if not _app_allows(actor, patient_id, "Appointment", APP_PERMISSIONS.get(action)):
            return DENY
        if patient_side_mode(_citizen_of(actor), patient_id) is None:
            return DENY
        if action in (Action.UPDATE, Action.DELETE) and not _authored(actor, appointment):
            return DENY
        return Decision(True, Mode.APP)
    return DENY


def decide_trail(actor: Actor | None, patient_id: Id) -> Decision:
    """Who reads a record's audit trail: the titulaire, or an app of theirs granted AuditEvent.

    Representatives and aidants do not (access.md: the history is the titulaire's).
    """
    if actor is None or not space_is_open(patient_id):
        return DENY
    if actor.kind == ActorKind.APP:
        if not (
            _app_allows(actor, patient_id, "AuditEvent", "r")
            or _app_allows(actor, patient_id, "AuditEvent", "s")
        ):
            return DENY
        return Decision(True, Mode.APP) if is_titulaire(_citizen_of(actor), patient_id) else DENY
    return Decision(True, Mode.TITULAIRE) if is_titulaire(actor, patient_id) else DENY


def decide_settings(actor: Actor | None, patient_id: Id) -> Decision:
    """Who manages a space's access (settings, blocks, roles, consents, aidants).

    The patient's side only: the titulaire, a legal representative of a minor,
    an aidant. Professionals, apps, operators and support never do.
    """
    mode = patient_side_mode(actor, patient_id)
    return Decision(True, mode) if mode is not None else DENY


def can(
    actor: Actor | None,
    action: Action,
    patient_id: Id,
    document: DocumentLike | None = None,
    section: str | None = None,
) -> bool:
    """May ``actor`` do ``action`` on the record of ``patient_id`` (a document, a section)?"""
    return decide(actor, action, patient_id, document, section).allowed


def check(
    actor: Actor | None,
    action: Action,
    patient_id: Id,
    document: DocumentLike | None = None,
    section: str | None = None,
) -> Decision:
    decision = decide(actor, action, patient_id, document, section)
    if not decision:
        raise NotAllowed
    return decision


def visible_documents(actor: Actor | None, patient_id: Id, queryset: QuerySet[_M]) -> QuerySet[_M]:
    """Filter ``queryset`` (documents) to what ``actor`` may see in one record, in SQL."""
    queryset = queryset.filter(patient_id=patient_id)
    if actor is None:
        return queryset.none()
    if actor.kind == ActorKind.SYSTEM:
        return queryset
    if actor.kind in (ActorKind.PATIENT, ActorKind.APP):
        citizen = _citizen_of(actor)
        if actor.kind == ActorKind.APP and not _app_allows(
            actor, patient_id, "DocumentReference", APP_PERMISSIONS[Action.LIST]
        ):
            return queryset.none()
        mode = patient_side_mode(citizen, patient_id)
        if mode is None:
            return queryset.none()
        queryset = queryset.filter(invisible_patient=False)
        if mode == Mode.REPRESENTATIVE:
            queryset = queryset.filter(invisible_representatives=False)
        return queryset
    if actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        return queryset.none()
    relation = professional_relation(actor, patient_id)
    if not relation.space_open or relation.blocked or relation.mode is None:
        return queryset.none()
    if not actor.profession:
        return queryset.none()
    # The matrix as a subquery: the list needs no separate round trip for it.
    queryset = queryset.filter(type_code__in=_allowed_types_query(actor.profession))
    own = Q(author_professional_id=actor.professional_id)
    # Withdrawn: still seen by whoever may withdraw it, as in _decide_professional (_owns).
    ours = own | Q(author_organization_id=actor.organization_id) if actor.organization_id else own
    queryset = queryset.filter(~Q(status="withdrawn") | ours)
    if relation.privileged:
        return queryset
    masked_ok = relation.emergency and (
        relation.settings.emergency_masked and not relation.settings.mask_everything
    )
    if masked_ok:
        return queryset
    if relation.settings.mask_everything:
        return queryset.filter(own)
    return queryset.filter(Q(masked_from_professionals=False) | own)


# --- Secure messaging (services.md, "Secure messaging") ------------------------


class MessageAction(StrEnum):
    """What can be done with a patient's conversations; audit entries carry these names."""

    START = "message_start"  # a new conversation addressed to the patient
    LIST = "message_list"
    READ = "message_read"
    SEND = "message_send"  # a message in an existing conversation
    DOWNLOAD = "attachment_download"
    CLOSE = "message_close"
    DELETE = "message_delete"  # the patient removes a conversation from their space


# What each messaging action needs from an app's scopes (closing is professionals' own).
MESSAGE_APP_PERMISSIONS = {
    MessageAction.START: "c",
    MessageAction.SEND: "c",
    MessageAction.LIST: "s",
    MessageAction.READ: "r",
    MessageAction.DOWNLOAD: "r",
    MessageAction.DELETE: "d",
}


def _messaging_participant(actor: Actor, conversation: ConversationLike) -> bool:
    """The professional wrote this conversation, or acts for the mailbox it belongs to."""
    from espace_sante.identity.models import Role

    if conversation.sender_professional_id:
        return str(conversation.sender_professional_id) == str(actor.professional_id)
    return bool(
        conversation.organization_id
        and actor.organization_id
        and str(conversation.organization_id) == str(actor.organization_id)
        and actor.professional_id is not None
        and Role.objects.filter(
            professional_id=actor.professional_id,
            organization_id=actor.organization_id,
            end_date__isnull=True,
        ).exists()
    )


def sender_is_blocked(patient_id: Id, conversation: ConversationLike) -> bool:
    """The patient blocked the professional who wrote this conversation: it is closed."""
    from .consent_models import Block

    sender = conversation.sender_professional_id
    if sender is None or not sender:
        return False
    return Block.objects.filter(  # type: ignore[misc]  # id text, see Id
        patient_id=patient_id,
        professional_id=sender,
        lifted_at__isnull=True,
    ).exists()


def decide_message(
    actor: Actor | None,
    action: MessageAction,
    patient_id: Id,
    conversation: ConversationLike | None = None,
    *,
    to_pharmacy: bool = False,
) -> Decision:
    """May ``actor`` do ``action`` on the patient's messaging (one conversation, or all)?

    Only professionals (or an organisation's mailbox) start a conversation; the
    patient's side reads and replies, and starts only to send a prescription to
    a pharmacy. A professional the patient blocked sends nothing more: their
    conversations are closed for them, the patient keeps the history.
    """
    if actor is None:
        return DENY
    action = MessageAction(action)
    if actor.kind == ActorKind.SYSTEM:
        return Decision(True, Mode.SYSTEM)
    if conversation is not None and str(conversation.patient_id) != str(patient_id):
        return DENY
    if actor.kind == ActorKind.PATIENT:
        mode = patient_side_mode(actor, patient_id)
        if mode is None or action == MessageAction.CLOSE:
            return DENY
        if action == MessageAction.START:
            return Decision(True, mode) if to_pharmacy else DENY
        if conversation is None:
            return Decision(True, mode) if action == MessageAction.LIST else DENY
        if conversation.patient_deleted_at is not None:
            return DENY
        if action == MessageAction.SEND and (
            not conversation.patient_may_reply or sender_is_blocked(patient_id, conversation)
        ):
            return DENY
        return Decision(True, mode)
    if actor.kind == ActorKind.APP:
        # A patient's app writes and reads as its citizen would, within its scopes.
        if not _app_allows(actor, patient_id, "Communication", MESSAGE_APP_PERMISSIONS.get(action)):
            return DENY
        decision = decide_message(
            _citizen_of(actor), action, patient_id, conversation, to_pharmacy=to_pharmacy
        )
        return Decision(True, Mode.APP) if decision else DENY
    if actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        return DENY  # operators, support: no messaging
    relation = professional_relation(actor, patient_id)
    if not relation.space_open:
        return DENY
    if action == MessageAction.START:
        if relation.blocked or not actor.organization_id:
            return DENY
        return Decision(True, relation.mode or Mode.DEPOSIT)
    if conversation is None or not _messaging_participant(actor, conversation):
        return DENY
    if action in (MessageAction.SEND, MessageAction.CLOSE):
        if relation.blocked or conversation.closed_at is not None:
            return DENY
        if action == MessageAction.SEND and conversation.patient_deleted_at is not None:
            return DENY  # she removed it: a new message starts a new conversation
    if action == MessageAction.DELETE:
        return DENY  # the patient's own choice
    return Decision(True, Mode.AUTHOR)
