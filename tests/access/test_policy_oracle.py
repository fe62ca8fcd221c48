"""The policy oracle: access.md restated as plain rules, compared with every decision.

Nothing here is computed with ``policy.py`` nor read from ``matrix.csv``: the
expected answers come from shared/domain/access.md, documents.md (type codes)
and identifiers.md (profession codes), written again below in their own words.
Each test then asks the policy the same questions and lists every disagreement.

Three things are checked together:
- ``can`` answers what the rules say, for documents, lists, deposits, edits;
- ``visible_documents`` (the SQL of lists) returns exactly the saved documents
  that ``can`` lets the same actor read, and so exactly what the rules say;
- the shipped matrix file says what the rules say, cell by cell.
"""

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from django.utils import timezone

from espace_sante.access import services as access
from espace_sante.access.consent_models import AccessSettings
from espace_sante.access.matrix import read_matrix_file
from espace_sante.access.policy import (
    SYSTEM,
    Action,
    Actor,
    ActorKind,
    MessageAction,
    actor_for_user,
    can,
    decide_message,
    request_memo,
    visible_documents,
)
from espace_sante.identity import services as identity
from espace_sante.identity.models import Organization, SpaceState
from espace_sante.messaging.models import Conversation
from espace_sante.record.documents.models import Document

# --- The rules, from the domain documents ----------------------------------------

# documents.md, "Type codes": every code and its DMP class.
TYPE_CLASSES = {
    "11488-4": "10",  # CR ou fiche de consultation ou de visite
    "11490-0": "10",  # Lettre de liaison à la sortie d'un établissement de soins
    "34112-3": "10",  # CR hospitalier (séjour)
    "34133-9": "11",  # Synthèse d'épisode de soins
    "18761-7": "10",  # Note de transfert (dont lettre de liaison à l'entrée)
    "15507-7": "10",  # CR de passage aux urgences
    "15508-5": "10",  # CR d'accouchement
    "34874-8": "10",  # CR opératoire
    "34749-2": "10",  # CR de consultation pré-anesthésique
    "77436-4": "10",  # CR d'anesthésie
    "11502-2": "10",  # CR d'examens biologiques
    "11526-1": "10",  # CR d'anatomie et de cytologie pathologiques
    "51969-4": "10",  # CR de génétique moléculaire
    "18748-4": "31",  # CR d'imagerie médicale
    "55115-0": "42",  # Demande d'actes d'imagerie
    "34794-8": "10",  # CR de réunion de concertation pluridisciplinaire
    "60591-5": "11",  # Synthèse du dossier médical (VSM)
    "68599-0": "11",  # Synthèse psychiatrique
    "57833-6": "42",  # Prescription de produits de santé
    "57832-8": "42",  # Prescription de soins
    "57828-6": "42",  # Prescription (autre)
    "PRESC-BIO": "42",  # Prescription d'actes de biologie
    "PRESC-KINE": "42",  # Prescription d'actes de kinésithérapie
    "PRESC-INF": "42",  # Prescription d'actes infirmiers
    "60593-1": "43",  # Dispensation médicamenteuse
    "56445-0": "11",  # Bilan médicamenteux
    "11369-6": "11",  # Historique des vaccinations
    "87273-9": "45",  # Note de vaccination
    "96173-0": "52",  # Attestation de dépistage
    "75492-9": "10",  # CR d'acte diagnostique à visée préventive ou de dépistage
    "68817-6": "11",  # Bilan de santé et de prévention de l'enfant
    "89601-9": "52",  # Certificat médical
    "CERT_DECL": "52",  # Certificat, déclaration
    "EXPPAT_3": "90",  # Directives anticipées
    "EXPPAT_1": "90",  # Volontés et droits du patient
    "74207-2": "11",  # Dossier de liaison d'urgence
    "85208-7": "10",  # CR de télémédecine
    "PROT_ALD": "44",  # Protocole de soins ALD
    **{f"DOCPAT0{n}": "90" for n in range(1, 10)},  # deposited by the patient
    # Not in documents.md's table, which has no type for its category QUEST_SANTE: the
    # answers of Mon bilan prévention (prevention.md) as LOINC "Questionnaire response Document".
    "74465-6": "90",
}
ALL_TYPES = frozenset(TYPE_CLASSES)
PSYCHIATRIC_SUMMARY = "68599-0"
GENETICS = "51969-4"
ADVANCE_DIRECTIVES = "EXPPAT_3"
TELEMEDICINE_REPORT = "85208-7"
DELIVERY_REPORT = "15508-5"
UNKNOWN_TYPE = "XXXX"

# identifiers.md, "Profession codes" (ANS TRE_G15): the rows of the matrix.
PHYSICIAN, PHARMACIST, DENTIST, MIDWIFE, NURSE, PODIATRIST = "10", "21", "40", "50", "60", "80"
ALL_PROFESSIONS = {
    "10", "21", "26", "28", "40", "50", "60", "70", "80", "81", "91", "92", "94", "95", "96", "98",
}  # fmt: skip
UNKNOWN_PROFESSIONS = ["31", ""]

# ADR 0005: professions without a known row get "the documents needed to coordinate
# care: consultation reports, liaison letters, summaries, prescriptions, vaccinations".
CONSULTATION_REPORTS = {"11488-4"}  # the consultation or visit report, by its label
LIAISON_LETTERS = {"11490-0", "18761-7", "74207-2"}  # at discharge, at transfer, emergencies
# Care summaries ("Synthèse"), but not the psychiatric one, which even pharmacists and
# nurses do not read; assessments ("Bilan": medication review, child check) are not summaries.
SUMMARIES = {"34133-9", "60591-5"}
# Prescriptions (class 42, the imaging request included) and the ALD care protocol.
PRESCRIPTIONS = {code for code, klass in TYPE_CLASSES.items() if klass == "42"} | {"PROT_ALD"}
VACCINATIONS = {"11369-6", "87273-9"}  # vaccination history, vaccination note
# The patient's own documents of those same kinds: 01 synthèse, 02 traitement/soins,
# 03 compte rendu. Their imaging (04), biology (05), prevention (06), certificates (07)
# and administrative papers (09) follow the professional types of those kinds: not shared.
PATIENT_COPIES = {"DOCPAT01", "DOCPAT02", "DOCPAT03"}
COORDINATION = (
    frozenset(CONSULTATION_REPORTS | LIAISON_LETTERS | SUMMARIES | PRESCRIPTIONS | VACCINATIONS)
    | PATIENT_COPIES
)
COORDINATION_PROFESSIONS = ALL_PROFESSIONS - {PHYSICIAN, PHARMACIST, DENTIST, MIDWIFE, NURSE}

# Cells where the shipped file and the wording above disagree, reported and waiting
# for a decision; the decisions follow the file until then (see the last file test).
# The profile summary (DOCPAT08) is, in access.md's words, how a patient shares the
# patient-only profile sections with professionals: a summary, yet refused here.
DISPUTED = {(profession, "DOCPAT08"): False for profession in COORDINATION_PROFESSIONS}


def readable_types(profession: str) -> frozenset[str]:
    """access.md, "Access matrix": the types a profession reads, by the rules."""
    if profession == PHYSICIAN:
        return ALL_TYPES  # every type (the residence attestation is not a type we keep)
    if profession == DENTIST:
        return ALL_TYPES - {PSYCHIATRIC_SUMMARY, ADVANCE_DIRECTIVES, TELEMEDICINE_REPORT}
    if profession in (PHARMACIST, NURSE, MIDWIFE):  # the team gave midwives the same row
        return ALL_TYPES - {PSYCHIATRIC_SUMMARY, GENETICS}
    if profession == PODIATRIST:
        return COORDINATION - {DELIVERY_REPORT}
    if profession in COORDINATION_PROFESSIONS:
        return COORDINATION
    return frozenset()  # a profession not in the file reads nothing


def decided_types(profession: str) -> frozenset[str]:
    """What the decisions must allow today: the rules, the reported disputes aside."""
    types = set(readable_types(profession))
    for (row, type_code), allowed in DISPUTED.items():
        if row == profession:
            (types.add if allowed else types.discard)(type_code)
    return frozenset(types)


# --- The shipped matrix against the rules (no database) --------------------------


def test_the_matrix_file_has_a_row_per_profession_and_a_column_per_type():
    _, cells = read_matrix_file()
    assert {p for p, _ in cells} == ALL_PROFESSIONS
    assert {t for _, t in cells} == ALL_TYPES


def test_the_coordination_set_never_gives_more_than_the_narrowest_known_rows():
    # A profession with a conservative default must not read what a dentist, a
    # pharmacist or a nurse may not.
    for profession in (DENTIST, PHARMACIST, NURSE):
        assert readable_types(profession) >= COORDINATION
    assert DELIVERY_REPORT not in COORDINATION


@pytest.mark.parametrize("profession", sorted(ALL_PROFESSIONS))
def test_every_cell_of_the_matrix_file_follows_the_rules(profession):
    _, cells = read_matrix_file()
    want = readable_types(profession)
    wrong = sorted(
        type_code
        for type_code in ALL_TYPES
        if (profession, type_code) not in DISPUTED
        and cells[(profession, type_code)] != (type_code in want)
    )
    assert wrong == [], f"profession {profession}: cellules contraires aux règles {wrong}"


def test_the_disputed_cells_are_still_as_reported():
    # When someone settles a dispute, the oracle must be updated with the decision.
    _, cells = read_matrix_file()
    assert {cell: cells[cell] for cell in DISPUTED} == DISPUTED


# --- Building the world -------------------------------------------------------------


def rpps(n: int) -> str:
    from stdnum import luhn

    base = f"4000000{n:03d}"
    return base + luhn.calc_check_digit(base)


_counter = iter(range(1, 10**6))


def professional(profession="10", last_name="Pro"):
    return identity.create_professional(
        rpps=rpps(next(_counter) % 1000),
        profession=profession,
        first_name="A",
        last_name=last_name,
    )


def another_organization():
    """A demo organisation other than the hospital, where our professionals work."""
    return Organization.objects.exclude(finess="310004569").order_by("finess").first()


def pro_actor(pro, organization=None, profession=None):
    return Actor(
        ActorKind.PROFESSIONAL,
        professional_id=pro.id,
        organization_id=organization.id if organization else None,
        profession=pro.profession if profession is None else profession,
    )


@dataclass(frozen=True)
class Doc:
    """A document as the rules see it."""

    type_code: str
    masked: bool = False
    withdrawn: bool = False
    invisible_patient: bool = False
    invisible_representatives: bool = False
    author: str | None = None  # the name of the professional who deposited it
    organization: str | None = None  # the organisation it was deposited for
    by_patient: bool = False

    def __str__(self):
        flags = [
            name
            for name in ("masked", "withdrawn", "invisible_patient", "invisible_representatives")
            if getattr(self, name)
        ]
        who = "le patient" if self.by_patient else f"{self.author}/{self.organization}"
        return f"{self.type_code} {'+'.join(flags) or 'normal'} déposé par {who}"


def save_documents(patient, docs, authors, organizations):
    """Save ``docs`` for ``patient`` in one query; returns {id: Doc}."""
    rows = []
    for spec in docs:
        document_id = uuid.uuid4()
        rows.append(
            Document(
                id=document_id,
                patient=patient,
                type_code=spec.type_code,
                class_code=TYPE_CLASSES.get(spec.type_code, "10"),
                category="CPT_REND",
                title_encrypted=b"",
                format_code="urn:ihe:iti:xds-sd:pdf:2008",
                mime_type="application/pdf",
                size=0,
                sha256="",
                blob_name=f"oracle/{document_id}",
                source=Document.Source.PATIENT if spec.by_patient else Document.Source.PROFESSIONAL,
                author_professional=authors.get(spec.author),
                author_organization=organizations.get(spec.organization),
                document_date=timezone.now(),
                status=Document.Status.WITHDRAWN if spec.withdrawn else Document.Status.CURRENT,
                masked_from_professionals=spec.masked,
                invisible_patient=spec.invisible_patient,
                invisible_representatives=spec.invisible_representatives,
            )
        )
    Document.objects.bulk_create(rows)
    return {row.id: spec for row, spec in zip(rows, docs, strict=True)}


FLAG_SETS = [
    {},
    {"masked": True},
    {"withdrawn": True},
    {"masked": True, "withdrawn": True},
    {"invisible_patient": True},
    {"invisible_representatives": True},
]
SAMPLE_TYPES = ["11502-2", PSYCHIATRIC_SUMMARY, "DOCPAT05", UNKNOWN_TYPE]

SETTINGS = {
    "default": {},
    "emergency MASKED on": {"emergency_masked": True},
    "mask everything": {"mask_everything": True},
    "mask everything with MASKED on": {"mask_everything": True, "emergency_masked": True},
    "BTG off": {"emergency_btg": False},
    "ETREAT off": {"emergency_samu": False},
}
DEFAULT_SETTINGS = {
    "emergency_samu": True,
    "emergency_btg": True,
    "emergency_masked": False,
    "mask_everything": False,
}


@dataclass(frozen=True)
class Pro:
    """How a professional stands towards the patient, in the words of access.md."""

    name: str
    profession: str = PHYSICIAN
    reason: str | None = None  # medecin_traitant, administrateur, care_team, consent, samu, btg
    blocked: bool = False
    organization: str = "clinic"  # the organisation the professional acts for


RELATIONS = [
    Pro("médecin traitant", reason="medecin_traitant"),
    Pro("administrateur", reason="administrateur"),
    Pro("équipe de soins", reason="care_team", organization="hospital"),
    Pro("consentement", reason="consent"),
    Pro("dentiste avec consentement", DENTIST, reason="consent"),
    Pro("régulateur SAMU", reason="samu"),
    Pro("bris de glace", reason="btg"),
    Pro("sans motif"),
    Pro("consentement révoqué"),
    Pro("bloqué après consentement", blocked=True),
    Pro("régulateur SAMU bloqué", reason="samu", blocked=True),
    Pro("débloqué sans redemander"),
    Pro("débloqué puis consentement", reason="consent"),
]


def professional_may_read(pro: Pro, doc: Doc, settings: dict) -> bool:
    """access.md, "Professionals — reading", for one saved document."""
    if pro.blocked:
        return False  # 1. not blocked, whatever the reason to access
    reason = pro.reason
    if reason == "samu" and not settings["emergency_samu"]:
        reason = None  # ETREAT off
    if reason == "btg" and not settings["emergency_btg"]:
        reason = None  # BTG off
    if reason is None:
        return False  # 2. a reason to access
    if doc.type_code not in decided_types(pro.profession):
        return False  # 3. the matrix (an unknown type is in no row)
    mine = doc.author == pro.name
    ours = doc.organization == pro.organization
    if doc.withdrawn and not (mine or ours):
        # A withdrawn document is no longer shared: only who may withdraw it
        # (its author or the author's organisation) still sees it.
        return False
    if doc.masked or settings["mask_everything"]:
        # 4. masked: its author, the médecin traitant and administrateurs; in an
        # emergency only with MASKED on, which "mask everything" turns off.
        if mine or reason in ("medecin_traitant", "administrateur"):
            return True
        if reason in ("samu", "btg"):
            return settings["emergency_masked"] and not settings["mask_everything"]
        return False
    return True


def professional_may(pro: Pro, action: Action, doc: Doc | None, settings: dict) -> bool:
    if action == Action.READ:
        return professional_may_read(pro, doc, settings)
    if action == Action.CREATE:
        return True  # a deposit, even blocked or without read consent
    if action in (Action.REPLACE, Action.WITHDRAW):
        return doc.author == pro.name or doc.organization == pro.organization
    return False  # professionals never edit, delete or mask the patient's data


@pytest.fixture
def world(personas):
    """Marie's record, the professionals around it, and the documents in it."""
    marie = personas.mother
    titulaire = actor_for_user(marie.user)
    organizations = {
        "hospital": Organization.objects.get(finess="310004569"),
        "clinic": another_organization(),
    }
    authors = {}
    actors = {}
    for pro in RELATIONS:
        if pro.reason == "medecin_traitant":
            person = personas.gp
        elif pro.reason == "care_team":
            person = personas.hospital_doctor
        else:
            person = professional(pro.profession, pro.name)
        actor = pro_actor(person, organizations[pro.organization])
        authors[pro.name] = person
        actors[pro.name] = actor
        if pro.reason == "administrateur":
            access.set_role(titulaire, marie, person, "administrateur")
        if pro.reason == "care_team":
            access.declare_care_team(actor, marie)
        if pro.reason == "consent" or pro.name in (
            "consentement révoqué",
            "bloqué après consentement",
            "débloqué sans redemander",
        ):
            access.record_consent(actor, marie)
        if pro.reason in ("samu", "btg"):
            access.start_emergency_access(actor, marie, pro.reason, "Patiente inconsciente")
        if pro.name == "consentement révoqué":
            access.revoke_consent(titulaire, marie, person)
        if pro.blocked or pro.name.startswith("débloqué"):
            access.block_professional(titulaire, marie, person)
        if pro.name.startswith("débloqué"):
            access.unblock_professional(titulaire, marie, person)
        if pro.name == "débloqué puis consentement":
            access.record_consent(actor, marie)
    authors["collègue de la clinique"] = professional(last_name="Collegue")
    authors["collègue de l'hôpital"] = professional(last_name="Hopital")
    deposits = [(None, None), ("collègue de la clinique", "clinic")]
    deposits += [("collègue de l'hôpital", "hospital")]
    deposits += [(pro.name, None) for pro in RELATIONS]
    docs = [
        Doc(type_code, author=author, organization=org, **flags)
        for author, org in deposits
        for type_code in SAMPLE_TYPES
        for flags in FLAG_SETS
    ]
    docs += [
        Doc(t, by_patient=True, **flags) for t in ("DOCPAT05", "11502-2") for flags in FLAG_SETS
    ]
    saved = save_documents(marie, docs, authors, organizations)
    return marie, actors, saved, organizations


def use_settings(patient, values):
    AccessSettings.objects.update_or_create(patient=patient, defaults=values)


@pytest.mark.django_db
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_each_professional_reads_and_lists_what_access_md_allows(world, setting):
    marie, actors, saved, organizations = world
    values = {**DEFAULT_SETTINGS, **SETTINGS[setting]}
    use_settings(marie, values)
    rows = {row.id: row for row in Document.objects.filter(patient=marie)}
    problems = []
    for pro in RELATIONS:
        actor = actors[pro.name]
        with request_memo():
            listed = set(
                visible_documents(actor, marie.id, Document.objects.all()).values_list(
                    "id", flat=True
                )
            )
            for document_id, spec in saved.items():
                want = professional_may_read(pro, spec, values)
                got = can(actor, Action.READ, marie.id, rows[document_id])
                if got != want or (document_id in listed) != want:
                    problems.append(
                        f"{pro.name} lit « {spec} » : règle {want}, can {got}, "
                        f"liste {document_id in listed}"
                    )
    assert problems == [], f"{len(problems)} écarts ({setting}) :\n" + "\n".join(problems[:20])


@pytest.mark.django_db
def test_each_professional_deposits_lists_and_acts_on_documents_as_access_md_says(world):
    marie, actors, saved, _ = world
    rows = {row.id: row for row in Document.objects.filter(patient=marie)}
    problems = []
    for pro in RELATIONS:
        with request_memo():
            problems += professional_actions(pro, actors[pro.name], marie, saved, rows)
    assert problems == [], f"{len(problems)} écarts :\n" + "\n".join(problems[:20])


def professional_actions(pro, actor, marie, saved, rows):
    problems = []
    has_reason = pro.reason is not None and not pro.blocked
    expected = {
        (Action.CREATE, None): True,  # a deposit, even blocked or without consent
        (Action.LIST, None): has_reason,
        (Action.READ, None): has_reason,
        (Action.LIST, "profile:vaccinations"): has_reason,
        (Action.LIST, "profile:allergies"): False,
        (Action.LIST, "profile:measures"): False,
        (Action.LIST, "profile:lifestyle"): False,
        (Action.LIST, "profile:contacts"): False,
        (Action.CREATE, "profile:vaccinations"): False,
        (Action.UPDATE, "profile:vaccinations"): False,
    }
    for (action, section), want in expected.items():
        got = can(actor, action, marie.id, section=section)
        if got != want:
            problems.append(f"{pro.name} {action} {section or 'dossier'} : {got} != {want}")
    for document_id, spec in saved.items():
        for action in (Action.UPDATE, Action.DELETE, Action.MASK, Action.REPLACE, Action.WITHDRAW):
            want = professional_may(pro, action, spec, DEFAULT_SETTINGS)
            got = can(actor, action, marie.id, rows[document_id])
            if got != want:
                problems.append(f"{pro.name} {action} « {spec} » : {got} != {want}")
    return problems


@pytest.mark.django_db
def test_a_blocked_professional_cannot_read_a_document_pushed_before_the_block(personas):
    marie = personas.mother
    person = professional(last_name="Bloque")
    actor = pro_actor(person)
    access.record_consent(actor, marie)
    (document_id,) = save_documents(marie, [Doc("11502-2")], {}, {})
    document = Document.objects.get(pk=document_id)
    assert can(actor, Action.READ, marie.id, document)
    access.block_professional(actor_for_user(marie.user), marie, person)
    assert not can(actor, Action.READ, marie.id, document)
    assert not visible_documents(actor, marie.id, Document.objects.all()).exists()
    assert can(actor, Action.CREATE, marie.id)  # but may still deposit


# --- Every cell of the matrix, through the decisions ------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("profession", sorted(ALL_PROFESSIONS) + UNKNOWN_PROFESSIONS)
def test_a_professional_with_consent_reads_exactly_the_types_of_the_rules(personas, profession):
    marie = personas.mother
    # An unknown code cannot be saved on a professional: the actor carries it.
    person = professional(profession if profession in ALL_PROFESSIONS else "10", "Matrice")
    actor = pro_actor(person, profession=profession)
    access.record_consent(actor, marie)
    types = sorted(ALL_TYPES) + [UNKNOWN_TYPE]
    saved = save_documents(marie, [Doc(t) for t in types], {}, {})
    want = decided_types(profession)
    listed = set(
        visible_documents(actor, marie.id, Document.objects.all()).values_list("id", flat=True)
    )
    wrong = []
    for document in Document.objects.filter(pk__in=saved):
        expected = document.type_code in want
        got = can(actor, Action.READ, marie.id, document)
        if got != expected or (document.id in listed) != expected:
            wrong.append((document.type_code, expected, got, document.id in listed))
    assert wrong == [], f"profession {profession!r} (type, règle, can, liste) : {wrong}"


# --- The patient's side -------------------------------------------------------------


def citizen_may(role: str, action: Action, doc: Doc | None) -> bool:
    """access.md, "People acting on the patient's own side"."""
    if role == "stranger":
        return False
    if action in (Action.REPLACE, Action.WITHDRAW):
        return False  # the professional's, on their own deposits
    if doc is None:
        return action in (Action.LIST, Action.READ, Action.CREATE)
    if doc.invisible_patient:
        return False  # held back until the announcement consultation
    if role == "representative" and doc.invisible_representatives:
        return False  # what the minor kept confidential
    if action in (Action.UPDATE, Action.DELETE):
        return doc.by_patient  # on professionals' documents, only mask or unmask
    return True


CITIZEN_ACTIONS = [Action.READ, Action.UPDATE, Action.DELETE, Action.MASK, Action.REPLACE]


def citizen_problems(name, role, actor, patient_id, saved, rows):
    problems = []
    for action in (Action.LIST, Action.CREATE):
        if can(actor, action, patient_id) != citizen_may(role, action, None):
            problems.append(f"{name} {action} : attendu {citizen_may(role, action, None)}")
    listed = set(
        visible_documents(actor, patient_id, Document.objects.all()).values_list("id", flat=True)
    )
    for document_id, spec in saved.items():
        for action in CITIZEN_ACTIONS + [Action.WITHDRAW]:
            want = citizen_may(role, action, spec)
            got = can(actor, action, patient_id, rows[document_id])
            if got != want:
                problems.append(f"{name} {action} « {spec} » : {got} != {want}")
        want = citizen_may(role, Action.READ, spec)
        if (document_id in listed) != want:
            problems.append(f"{name} liste « {spec} » : {document_id in listed} != {want}")
    return problems


def small_sample(saved):
    """A few documents of each flag, by a professional and by the patient."""
    return {
        document_id: spec
        for document_id, spec in saved.items()
        if spec.type_code in ("11502-2", "DOCPAT05") and spec.author in (None, "consentement")
    }


@pytest.mark.django_db
def test_the_titulaire_an_aidant_and_a_stranger_see_what_access_md_says(world, personas):
    marie, _, saved, _ = world
    elder = actor_for_user(personas.elder.user)
    link = access.invite_caregiver(actor_for_user(marie.user), marie, personas.elder)
    access.answer_caregiver_invitation(elder, link, True)
    sample = small_sample(saved)
    rows = Document.objects.in_bulk(list(sample))
    problems = []
    for name, role, actor in [
        ("la titulaire", "titulaire", actor_for_user(marie.user)),
        ("son aidant", "aidant", elder),
        ("un inconnu", "stranger", Actor(ActorKind.PATIENT, person_id=personas.child.id)),
    ]:
        problems += citizen_problems(name, role, actor, marie.id, sample, rows)
    assert problems == [], "\n".join(problems[:20])


@pytest.mark.django_db
def test_a_parent_sees_the_child_record_but_not_what_the_minor_kept_confidential(personas):
    import time_machine

    child = personas.child
    mother = actor_for_user(personas.mother.user)
    docs = [
        Doc(t, by_patient=t == "DOCPAT05", **f) for t in ("11502-2", "DOCPAT05") for f in FLAG_SETS
    ]
    saved = save_documents(child, docs, {}, {})
    rows = Document.objects.in_bulk(list(saved))
    problems = citizen_problems("la mère", "representative", mother, child.id, saved, rows)
    assert problems == [], "\n".join(problems[:20])
    # At 18 the child becomes titulaire: the parents' access ends.
    with time_machine.travel(date(child.birth_date.year + 18, 12, 31)):
        problems = citizen_problems(
            "la mère, enfant majeur", "stranger", mother, child.id, saved, rows
        )
    assert problems == [], "\n".join(problems[:20])


@pytest.mark.django_db
def test_a_representative_whose_invitation_is_still_waiting_sees_nothing(personas):
    from espace_sante.identity.models import LegalRepresentative

    child = personas.child
    LegalRepresentative.objects.create(
        represented=child,
        representative=personas.elder,
        status=LegalRepresentative.Status.WAITING,
    )
    saved = save_documents(child, [Doc("11502-2")], {}, {})
    rows = Document.objects.in_bulk(list(saved))
    elder = actor_for_user(personas.elder.user)
    assert citizen_problems("invité en attente", "stranger", elder, child.id, saved, rows) == []


@pytest.mark.django_db
def test_operators_and_support_see_nothing_and_the_system_everything(world):
    marie, _, saved, _ = world
    rows = Document.objects.in_bulk(list(saved))
    for actor in (Actor(ActorKind.OPERATOR, user_id=1), Actor(ActorKind.SUPPORT, user_id=2)):
        assert not visible_documents(actor, marie.id, Document.objects.all()).exists()
        assert not can(actor, Action.LIST, marie.id)
        for action in Action:
            assert not any(can(actor, action, marie.id, row) for row in rows.values())
    listed = set(
        visible_documents(SYSTEM, marie.id, Document.objects.all()).values_list("id", flat=True)
    )
    assert listed == set(saved)
    assert all(can(SYSTEM, Action.READ, marie.id, row) for row in rows.values())


# --- Spaces not open ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("state", [SpaceState.INVITED, SpaceState.CLOSED])
def test_nobody_reads_or_deposits_in_a_space_that_is_not_open(world, personas, state):
    marie, actors, saved, _ = world
    rows = Document.objects.in_bulk(list(small_sample(saved)))
    marie.space_state = state
    marie.save(update_fields=["space_state"])
    everyone = {
        "la titulaire": actor_for_user(marie.user),
        "une appli de la titulaire": Actor(
            ActorKind.APP, person_id=marie.id, scopes=frozenset({"patient/*.cruds"})
        ),
        **actors,
    }
    problems = []
    for name, actor in everyone.items():
        with request_memo():
            if visible_documents(actor, marie.id, Document.objects.all()).exists():
                problems.append(f"{name} liste des documents")
            for action in (Action.LIST, Action.CREATE):
                if can(actor, action, marie.id):
                    problems.append(f"{name} {action}")
            for action in Action:
                if any(can(actor, action, marie.id, row) for row in rows.values()):
                    problems.append(f"{name} {action} un document")
    assert problems == [], "\n".join(problems)


# --- Connected apps ---------------------------------------------------------------------


# SMART App Launch 2.0 scopes: ``<context>/<Resource>.<letters>``, c create, r read
# (one item), u update, d delete, s search (a list); v1 ``read`` = rs, ``write`` = cud,
# ``*`` = cruds. Only the ``patient/`` context delegates a patient's record.
SMART_LETTERS = {
    Action.READ: "r",
    Action.LIST: "s",
    Action.CREATE: "c",
    Action.UPDATE: "u",
    Action.MASK: "u",
    Action.DELETE: "d",
}


def scopes_allow(scopes: set[str], action: Action) -> bool:
    letter = SMART_LETTERS.get(action)
    for scope in scopes:
        context, _, rest = scope.partition("/")
        resource, _, permissions = rest.partition(".")
        permissions = {"read": "rs", "write": "cud", "*": "cruds"}.get(permissions, permissions)
        if context == "patient" and resource in ("DocumentReference", "*") and letter:
            if letter in permissions:
                return True
    return False


def app_may(
    granted: set[str], token: set[str], for_titulaire: bool, action: Action, doc: Doc | None
) -> bool:
    """An app does what the patient granted AND its token carries, and what its citizen could.

    The grant is the patient side's consent to the app (access.md, connected
    services; CONVENTIONS: consent is a model); the token is what the app asked for.
    """
    role = "titulaire" if for_titulaire else "stranger"
    return (
        scopes_allow(granted, action)
        and scopes_allow(token, action)
        and citizen_may(role, action, doc)
    )


APP_SCOPES = [
    {"patient/DocumentReference.read"},
    {"patient/DocumentReference.rs"},
    {"patient/*.rs"},
    {"patient/DocumentReference.write"},
    {"patient/DocumentReference.cu"},
    {"patient/DocumentReference.cruds"},
    {"patient/Observation.rs"},
    {"user/DocumentReference.read"},
    {"system/*.cruds"},
    set(),
]
# (what Marie granted, what the app's token carries): the narrower one wins.
GRANT_AND_TOKEN = [(scopes, scopes) for scopes in APP_SCOPES] + [
    ({"patient/DocumentReference.rs"}, {"patient/DocumentReference.cruds"}),
    ({"patient/DocumentReference.cruds"}, {"patient/DocumentReference.r"}),
    # A token in another context delegates nothing of a patient's record.
    ({"patient/DocumentReference.cruds"}, {"user/DocumentReference.cruds"}),
    ({"patient/*.cruds"}, {"system/*.cruds"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("granted", "token"),
    GRANT_AND_TOKEN,
    ids=lambda s: ",".join(sorted(s)) or "no-scope",
)
def test_a_connected_app_does_what_its_grant_its_token_and_its_user_allow(
    world, personas, granted, token
):
    from espace_sante.access import grants
    from tests.personas import make_app, make_application

    marie, _, saved, _ = world
    sample = small_sample(saved)
    rows = Document.objects.in_bulk(list(sample))
    # Only patient/ scopes can be granted: without one, the app has no grant at all.
    if any(scope.startswith("patient/") for scope in granted):
        application = make_app(marie, sorted(granted))
    else:
        application = make_application()
    problems = []
    for for_titulaire, person in ((True, marie), (False, personas.child)):
        actor = grants.app_actor(application, marie.id, person.id, sorted(token))
        who = "pour la titulaire" if for_titulaire else "pour un inconnu"
        for action in (Action.LIST, Action.CREATE):
            want = app_may(granted, token, for_titulaire, action, None)
            if can(actor, action, marie.id) != want:
                problems.append(f"{who} {action} : attendu {want}")
        listed = set(
            visible_documents(actor, marie.id, Document.objects.all()).values_list("id", flat=True)
        )
        for document_id, spec in sample.items():
            for action in Action:
                want = app_may(granted, token, for_titulaire, action, spec)
                if can(actor, action, marie.id, rows[document_id]) != want:
                    problems.append(f"{who} {action} « {spec} » : attendu {want}")
            # A list needs the search letter, and shows what the citizen may read.
            want = app_may(granted, token, for_titulaire, Action.LIST, None) and citizen_may(
                "titulaire" if for_titulaire else "stranger", Action.READ, spec
            )
            if (document_id in listed) != want:
                problems.append(f"{who} liste « {spec} » : attendu {want}")
    assert problems == [], "\n".join(problems[:20])


# --- Secure messaging -------------------------------------------------------------------


def conversation(patient, sender=None, organization=None, **fields):
    return Conversation(
        patient=patient,
        sender_professional=sender,
        organization=organization,
        last_message_at=timezone.now(),
        **fields,
    )


@dataclass(frozen=True)
class Conv:
    """A conversation as the messaging rules see it."""

    sender: str | None = "sender"  # the professional who wrote it, None for a mailbox
    other_patient: bool = False
    closed: bool = False
    no_reply: bool = False
    deleted_by_patient: bool = False


CONVERSATIONS = [
    Conv(),
    Conv(sender=None),  # the hospital's mailbox
    Conv(other_patient=True),
    Conv(closed=True),
    Conv(no_reply=True),
    Conv(deleted_by_patient=True),
    Conv(sender="blocked"),
]


def patient_side_may_message(role, action, conv: Conv | None, to_pharmacy=False):
    """services.md, "Secure messaging", for the titulaire, a representative, an aidant."""
    if role == "stranger":
        return False
    if action == MessageAction.START:
        return to_pharmacy  # the one conversation a patient starts
    if action == MessageAction.CLOSE:
        return False  # a professional closes
    if conv is None:
        return action == MessageAction.LIST
    if conv.other_patient or conv.deleted_by_patient:
        return False
    if action == MessageAction.SEND:
        return not (conv.closed or conv.no_reply or conv.sender == "blocked")
    return True  # read, download, delete from her space


def professional_may_message(who, action, conv: Conv | None):
    """Professionals start; participants read, write and close; the patient deletes."""
    blocked = who == "blocked"
    if conv is not None and conv.other_patient:
        return False  # another patient's conversation, whatever is asked
    if action == MessageAction.START:
        return who != "no organisation" and not blocked
    if conv is None:
        return False  # professionals list their own mailbox, not the patient's
    participant = (conv.sender is not None and conv.sender == who) or (
        conv.sender is None and who == "hospital member"
    )
    if not participant or action == MessageAction.DELETE:
        return False  # others' conversations; deleting is the patient's choice
    if action in (MessageAction.SEND, MessageAction.CLOSE):
        if blocked or conv.closed:
            return False
        if action == MessageAction.SEND and conv.deleted_by_patient:
            return False  # a new message starts a new conversation
    return True  # list, read and download their own history, even once blocked


@pytest.mark.django_db
def test_messaging_decisions_follow_the_rules(personas):
    marie, elder = personas.mother, personas.elder
    titulaire = actor_for_user(marie.user)
    hospital = Organization.objects.get(finess="310004569")
    clinic = another_organization()
    sender = professional(last_name="Expediteur")
    blocked = professional(last_name="Bloque")
    access.block_professional(titulaire, marie, blocked)
    other = professional(last_name="Autre")
    link = access.invite_caregiver(titulaire, marie, elder)
    access.answer_caregiver_invitation(actor_for_user(elder.user), link, True)
    now = timezone.now()

    def build(spec: Conv):
        author = {"sender": sender, "blocked": blocked, None: None}[spec.sender]
        return conversation(
            elder if spec.other_patient else marie,
            sender=author,
            organization=hospital if spec.sender is None else clinic,
            closed_at=now if spec.closed else None,
            reply_mode=Conversation.ReplyMode.NO_REPLY
            if spec.no_reply
            else Conversation.ReplyMode.REPLY,
            patient_deleted_at=now if spec.deleted_by_patient else None,
        )

    conversations = [(spec, build(spec)) for spec in CONVERSATIONS]
    problems = []
    patient_side = [
        ("titulaire", titulaire),
        ("aidant", actor_for_user(elder.user)),
        ("stranger", Actor(ActorKind.PATIENT, person_id=personas.child.id)),
    ]
    for role, actor in patient_side:
        for action in MessageAction:
            for to_pharmacy in (False, True):
                want = patient_side_may_message(role, action, None, to_pharmacy)
                if bool(decide_message(actor, action, marie.id, to_pharmacy=to_pharmacy)) != want:
                    problems.append(f"{role} {action} pharmacie={to_pharmacy} : attendu {want}")
            for spec, conv in conversations:
                want = patient_side_may_message(role, action, spec)
                if bool(decide_message(actor, action, marie.id, conv)) != want:
                    problems.append(f"{role} {action} {spec} : attendu {want}")
    professionals = [
        ("sender", pro_actor(sender, clinic)),
        ("blocked", pro_actor(blocked, clinic)),
        ("hospital member", pro_actor(personas.hospital_doctor, hospital)),
        ("no organisation", pro_actor(other)),
        ("other", pro_actor(other, hospital)),  # says it acts for the hospital, has no role
    ]
    for who, actor in professionals:
        for action in MessageAction:
            want = professional_may_message(who, action, None)
            if bool(decide_message(actor, action, marie.id)) != want:
                problems.append(f"{who} {action} sans conversation : attendu {want}")
            for spec, conv in conversations:
                want = professional_may_message(who, action, spec)
                if bool(decide_message(actor, action, marie.id, conv)) != want:
                    problems.append(f"{who} {action} {spec} : attendu {want}")
    for actor in (
        Actor(ActorKind.OPERATOR, user_id=1),
        Actor(ActorKind.SUPPORT, user_id=2),
        Actor(ActorKind.APP, person_id=marie.id, scopes=frozenset({"patient/*.cruds"})),
    ):
        for action in MessageAction:
            for _, conv in conversations[:1]:
                if decide_message(actor, action, marie.id, conv) or decide_message(
                    actor, action, marie.id, to_pharmacy=True
                ):
                    problems.append(f"{actor.kind} {action} : attendu refus")
    assert problems == [], f"{len(problems)} écarts :\n" + "\n".join(problems[:30])


@pytest.mark.django_db
@pytest.mark.parametrize("state", [SpaceState.INVITED, SpaceState.CLOSED])
def test_nobody_messages_in_a_space_that_is_not_open(personas, state):
    marie = personas.mother
    sender = professional(last_name="Expediteur")
    clinic = another_organization()
    conv = conversation(marie, sender=sender, organization=clinic)
    marie.space_state = state
    marie.save(update_fields=["space_state"])
    for actor in (actor_for_user(marie.user), pro_actor(sender, clinic)):
        for action in MessageAction:
            assert not decide_message(actor, action, marie.id, conv)
            assert not decide_message(actor, action, marie.id, to_pharmacy=True)


@pytest.mark.django_db
def test_an_app_granted_on_one_record_reads_nothing_of_another_its_user_reaches(personas):
    """Marie granted the app on her own record; her son's record needs its own grant."""
    from espace_sante.access import grants
    from tests.personas import make_app

    marie, child = personas.mother, personas.child
    application = make_app(marie, ["patient/DocumentReference.rs"])
    # Built for Marie's record, then asked about her son's (she is his representative).
    actor = grants.app_actor(application, marie.id, marie.id, ["patient/DocumentReference.rs"])
    assert can(actor, Action.LIST, marie.id)
    assert not can(actor, Action.LIST, child.id)
    assert not visible_documents(actor, child.id, Document.objects.all()).exists()


@pytest.mark.django_db
def test_a_revoked_grant_stops_an_app_at_once(personas):
    from espace_sante.access import grants
    from tests.personas import make_app

    marie = personas.mother
    application = make_app(marie, ["patient/DocumentReference.rs"])
    actor = grants.app_actor(application, marie.id, marie.id, ["patient/DocumentReference.rs"])
    assert can(actor, Action.LIST, marie.id)
    grants.revoke_app(actor_for_user(marie.user), marie, application)
    assert not can(actor, Action.LIST, marie.id)
