"""Every rule of shared/domain/access.md as a table: who reads which document, when.

Each row is written from access.md, not from the code: actor, document type,
document flags, patient settings, expected decision.
"""

from datetime import date

import pytest

from espace_sante.access import services as access
from espace_sante.access.consent_models import Caregiver
from espace_sante.access.policy import SYSTEM, Action, Actor, ActorKind, actor_for_user, can
from espace_sante.identity import services as identity
from espace_sante.identity.models import Organization
from espace_sante.record.documents.models import Document

pytestmark = pytest.mark.django_db

LAB, PSY, DELIVERY, DIRECTIVES, VSM, GENETICS = (
    "11502-2",
    "68599-0",
    "15508-5",
    "EXPPAT_3",
    "60591-5",
    "51969-4",
)


def pro(rpps, profession, last_name):
    return identity.create_professional(
        rpps=rpps, profession=profession, first_name="A", last_name=last_name
    )


def pro_actor(professional, organization=None):
    return Actor(
        ActorKind.PROFESSIONAL,
        professional_id=professional.id,
        profession=professional.profession,
        organization_id=organization.id if organization else None,
    )


@pytest.fixture
def world(personas):
    """The personas of the issue, around Marie's record."""
    from stdnum import luhn

    def rpps(n):
        base = f"2000000{n:03d}"
        return base + luhn.calc_check_digit(base)

    w = {
        "patient": personas.mother,
        "child": personas.child,
        "gp": personas.gp,
        "consented": pro(rpps(1), "10", "Consenti"),
        "unrelated": pro(rpps(2), "10", "Inconnu"),
        "blocked": pro(rpps(3), "10", "Bloque"),
        "dentist": pro(rpps(4), "40", "Dentiste"),
        "podiatrist": pro(rpps(5), "80", "Podologue"),
        "nurse": pro(rpps(6), "60", "Infirmier"),
        "samu": pro(rpps(7), "10", "Regulateur"),
        "btg": pro(rpps(8), "10", "Urgentiste"),
        "hospital_doctor": personas.hospital_doctor,
    }
    marie = actor_for_user(personas.mother.user)
    for key in ("consented", "blocked", "dentist", "podiatrist", "nurse"):
        access.record_consent(pro_actor(w[key]), w["patient"])
    access.block_professional(marie, w["patient"], w["blocked"])
    access.start_emergency_access(
        pro_actor(w["samu"]), w["patient"], "samu", "Malaise sur la voie publique"
    )
    access.start_emergency_access(
        pro_actor(w["btg"]), w["patient"], "btg", "Patiente inconsciente aux urgences"
    )
    hospital = Organization.objects.get(finess="310004569")
    w["hospital"] = hospital
    caregiver_person = personas.elder
    link = access.invite_caregiver(marie, w["patient"], caregiver_person)
    access.answer_caregiver_invitation(actor_for_user(personas.elder.user), link, True)
    w["caregiver"] = caregiver_person
    return w


def doc(
    patient, type_code, *, masked=False, invisible_patient=False, invisible_reps=False, author=None
):
    return Document(
        patient=patient,
        type_code=type_code,
        masked_from_professionals=masked,
        invisible_patient=invisible_patient,
        invisible_representatives=invisible_reps,
        author_professional=author,
        source=Document.Source.PROFESSIONAL,
    )


def actor_named(name, world, personas):
    if name == "titulaire":
        return actor_for_user(personas.mother.user)
    if name == "stranger":  # a citizen with no link to Marie (here, her son's identity)
        return Actor(ActorKind.PATIENT, person_id=personas.child.id)
    if name == "caregiver":
        return actor_for_user(personas.elder.user)
    if name == "operator":
        return Actor(ActorKind.OPERATOR, user_id=1)
    if name == "support":
        return Actor(ActorKind.SUPPORT, user_id=2)
    if name == "hospital_care_team":
        return pro_actor(world["hospital_doctor"], world["hospital"])
    return pro_actor(world[name])


# (actor, type, flags, settings, expected) — from access.md
TABLE = [
    # The titulaire sees everything but INVISIBLE_PATIENT.
    ("titulaire", LAB, {}, {}, True),
    ("titulaire", PSY, {"masked": True}, {}, True),
    ("titulaire", LAB, {"invisible_patient": True}, {}, False),
    # An aidant acts like the titulaire.
    ("caregiver", LAB, {}, {}, True),
    ("caregiver", LAB, {"invisible_patient": True}, {}, False),
    # Other citizens, operators and support: nothing.
    ("stranger", LAB, {}, {}, False),
    ("operator", LAB, {}, {}, False),
    ("support", LAB, {}, {}, False),
    # The médecin traitant sees everything, masked included.
    ("gp", LAB, {}, {}, True),
    ("gp", PSY, {"masked": True}, {}, True),
    ("gp", LAB, {}, {"mask_everything": True}, True),
    # A professional with consent: the matrix and masking apply.
    ("consented", LAB, {}, {}, True),
    ("consented", LAB, {"masked": True}, {}, False),
    ("consented", LAB, {}, {"mask_everything": True}, False),
    # Without any reason to access: nothing, not even unmasked.
    ("unrelated", LAB, {}, {}, False),
    # Blocked (even with a consent given before the block): nothing.
    ("blocked", LAB, {}, {}, False),
    # The matrix: a dentist with consent sees lab results, not psychiatric
    # summaries nor advance directives.
    ("dentist", LAB, {}, {}, True),
    ("dentist", PSY, {}, {}, False),
    ("dentist", DIRECTIVES, {}, {}, False),
    # A podiatrist does not see delivery reports.
    ("podiatrist", DELIVERY, {}, {}, False),
    ("podiatrist", VSM, {}, {}, True),
    # Nurses: not psychiatric summaries nor genetics.
    ("nurse", GENETICS, {}, {}, False),
    ("nurse", LAB, {}, {}, True),
    # Emergencies: allowed by default (ETREAT, BTG on), masked only with MASKED on.
    ("samu", LAB, {}, {}, True),
    ("samu", LAB, {}, {"emergency_samu": False}, False),
    ("samu", LAB, {"masked": True}, {}, False),
    ("samu", LAB, {"masked": True}, {"emergency_masked": True}, True),
    ("btg", LAB, {}, {}, True),
    ("btg", LAB, {}, {"emergency_btg": False}, False),
    ("btg", LAB, {"masked": True}, {"emergency_masked": True}, True),
    ("btg", LAB, {"masked": True}, {"emergency_masked": True, "mask_everything": True}, False),
    # Care team: only once the organisation is declared caring for the patient.
    ("hospital_care_team", LAB, {}, {}, False),
]


@pytest.mark.parametrize(("who", "type_code", "flags", "patient_settings", "expected"), TABLE)
def test_who_reads_what(world, personas, who, type_code, flags, patient_settings, expected):
    if patient_settings:
        access.update_settings(
            actor_for_user(personas.mother.user), world["patient"], **patient_settings
        )
    document = doc(
        world["patient"],
        type_code,
        masked=flags.get("masked", False),
        invisible_patient=flags.get("invisible_patient", False),
    )
    assert (
        can(actor_named(who, world, personas), Action.READ, world["patient"].id, document)
        is expected
    )


def test_a_masked_document_stays_visible_to_its_author(world):
    document = doc(world["patient"], LAB, masked=True, author=world["consented"])
    assert can(pro_actor(world["consented"]), Action.READ, world["patient"].id, document)


def test_a_care_team_reads_once_declared_and_not_after_an_objection(world, personas):
    doctor = pro_actor(world["hospital_doctor"], world["hospital"])
    document = doc(world["patient"], LAB)
    assert not can(doctor, Action.READ, world["patient"].id, document)
    access.declare_care_team(doctor, world["patient"])
    assert can(doctor, Action.READ, world["patient"].id, document)
    access.object_to_care_team(
        actor_for_user(personas.mother.user), world["patient"], world["hospital"]
    )
    assert not can(doctor, Action.READ, world["patient"].id, document)


def test_a_blocked_professional_can_still_deposit_but_not_read(world):
    blocked = pro_actor(world["blocked"])
    assert can(blocked, Action.CREATE, world["patient"].id)
    assert not can(blocked, Action.LIST, world["patient"].id)


def test_after_an_unblock_the_professional_must_ask_for_consent_again(world, personas):
    marie = actor_for_user(personas.mother.user)
    access.unblock_professional(marie, world["patient"], world["blocked"])
    document = doc(world["patient"], LAB)
    assert not can(pro_actor(world["blocked"]), Action.READ, world["patient"].id, document)
    access.record_consent(pro_actor(world["blocked"]), world["patient"])
    assert can(pro_actor(world["blocked"]), Action.READ, world["patient"].id, document)


def test_professionals_replace_or_withdraw_only_their_own_documents(world):
    mine = doc(world["patient"], LAB, author=world["consented"])
    theirs = doc(world["patient"], LAB, author=world["gp"])
    actor = pro_actor(world["consented"])
    assert can(actor, Action.WITHDRAW, world["patient"].id, mine)
    assert can(actor, Action.REPLACE, world["patient"].id, mine)
    assert not can(actor, Action.WITHDRAW, world["patient"].id, theirs)
    assert not can(actor, Action.UPDATE, world["patient"].id, mine)  # never edit the record


def test_professionals_never_mask_edit_or_delete(world):
    for action in (Action.MASK, Action.UPDATE, Action.DELETE):
        assert not can(
            pro_actor(world["gp"]), action, world["patient"].id, doc(world["patient"], LAB)
        )


def test_a_parent_reads_the_child_record_except_what_the_minor_kept_confidential(world, personas):
    mother = actor_for_user(personas.mother.user)
    child = world["child"]
    assert can(mother, Action.READ, child.id, doc(child, LAB))
    assert not can(mother, Action.READ, child.id, doc(child, LAB, invisible_reps=True))


def test_the_parent_access_ends_when_the_child_turns_18(world, personas, settings):
    import time_machine

    child = world["child"]
    mother = actor_for_user(personas.mother.user)
    with time_machine.travel(date(child.birth_date.year + 18, 12, 31)):
        assert not can(mother, Action.READ, child.id, doc(child, LAB))


def test_professionals_see_vaccinations_but_not_the_rest_of_the_profile(world):
    gp = pro_actor(world["gp"])
    assert can(gp, Action.LIST, world["patient"].id, section="profile:vaccinations")
    assert not can(gp, Action.LIST, world["patient"].id, section="profile:allergies")
    assert not can(gp, Action.LIST, world["patient"].id, section="profile:measures")


def test_an_unknown_profession_reads_nothing(world):
    odd = Actor(ActorKind.PROFESSIONAL, professional_id=world["consented"].id, profession="99")
    assert not can(odd, Action.READ, world["patient"].id, doc(world["patient"], LAB))


def test_an_unknown_document_type_is_refused(world):
    assert not can(
        pro_actor(world["gp"]), Action.READ, world["patient"].id, doc(world["patient"], "XXXX")
    )


def test_the_medecin_traitant_cannot_be_blocked(world, personas):
    with pytest.raises(access.AccessChangeRefused):
        access.block_professional(
            actor_for_user(personas.mother.user), world["patient"], world["gp"]
        )


def test_an_emergency_needs_a_justification_and_is_refused_when_turned_off(world, personas):
    with pytest.raises(access.AccessChangeRefused):
        access.start_emergency_access(
            pro_actor(world["unrelated"]), world["patient"], "btg", "vite"
        )
    access.update_settings(
        actor_for_user(personas.mother.user), world["patient"], emergency_btg=False
    )
    with pytest.raises(access.AccessChangeRefused):
        access.start_emergency_access(
            pro_actor(world["unrelated"]), world["patient"], "btg", "Patiente inconsciente"
        )


def test_an_aidant_limit_is_three(world, personas):
    from espace_sante.identity.models import Person

    marie = actor_for_user(personas.mother.user)
    extra = [
        identity.create_person(
            ins_matricule=m,
            ins_system="1.2.250.1.213.1.4.10",
            birth_name="AIDANT",
            first_names="X",
            birth_date=b,
            sex=s,
            birth_place_code="75056",
            department="75",
        )
        for m, b, s in (
            ("170017505600108", date(1970, 1, 1), "M"),
            ("270017505600155", date(1970, 1, 1), "F"),
            ("180017505600103", date(1980, 1, 1), "M"),
        )
    ]
    access.invite_caregiver(marie, world["patient"], extra[0])
    access.invite_caregiver(marie, world["patient"], extra[1])
    with pytest.raises(access.AccessChangeRefused):
        access.invite_caregiver(marie, world["patient"], extra[2])
    assert Caregiver.objects.filter(patient=world["patient"]).count() == 3
    assert Person.objects.filter(birth_name="AIDANT").count() == 3


def test_the_system_acts_for_the_service(world):
    assert can(SYSTEM, Action.READ, world["patient"].id, doc(world["patient"], LAB))
