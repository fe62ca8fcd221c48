"""Every combination of relation × profession × document type × flags × settings.

``expected`` restates access.md on its own, without the code's structure; the
test compares it with ``policy.can`` for each of the ~2,000 combinations.
"""

import itertools

import pytest

from espace_sante.access import services as access
from espace_sante.access.consent_models import AccessSettings, PatientRole
from espace_sante.access.policy import SYSTEM, Action, Actor, ActorKind, actor_for_user, can
from espace_sante.identity import services as identity
from espace_sante.record.models import Document

pytestmark = pytest.mark.django_db

TYPES = ["11502-2", "68599-0", "51969-4", "15508-5", "EXPPAT_3", "60591-5", "DOCPAT05", "XXXX"]
FLAGS = ["none", "masked", "invisible_patient", "invisible_representatives"]
SETTINGS = {
    "default": {},
    "emergency_masked": {"emergency_masked": True},
    "mask_everything": {"mask_everything": True},
    "btg_off": {"emergency_btg": False},
    "samu_off": {"emergency_samu": False},
}
# (relation, profession) for professionals; citizens and others have no profession.
RELATIONS = [
    ("titulaire", None),
    ("caregiver", None),
    ("stranger", None),
    ("operator", None),
    ("support", None),
    ("system", None),
    ("medecin_traitant", "10"),
    ("administrateur", "10"),
    ("consent", "10"),
    ("consent", "40"),
    ("consent", "80"),
    ("consent", "60"),
    ("consent", "21"),
    ("none", "10"),
    ("blocked", "10"),
    ("samu", "10"),
    ("btg", "10"),
]

# From access.md and the shipped matrix (data/matrix.csv) for these types.
CANNOT_READ = {
    "10": set(),
    "40": {"68599-0", "EXPPAT_3"},
    "60": {"68599-0", "51969-4"},
    "21": {"68599-0", "51969-4"},
    "80": {"11502-2", "68599-0", "51969-4", "15508-5", "EXPPAT_3", "DOCPAT05"},
}


def expected(relation, profession, type_code, flag, setting) -> bool:
    s = SETTINGS[setting]
    mask_everything = s.get("mask_everything", False)
    masked = flag == "masked" or mask_everything
    if relation == "system":
        return True
    if relation in ("titulaire", "caregiver"):
        return flag != "invisible_patient"
    if relation in ("stranger", "operator", "support", "none", "blocked"):
        return False
    if type_code == "XXXX" or type_code in CANNOT_READ[profession]:
        return False  # unknown type, or the matrix says no
    if relation in ("medecin_traitant", "administrateur"):
        return True  # they see masked documents too
    if relation == "consent":
        return not masked
    if relation == "samu" and not s.get("emergency_samu", True):
        return False
    if relation == "btg" and not s.get("emergency_btg", True):
        return False
    # Emergency: masked documents only with MASKED on, never with "mask everything".
    return not masked or (s.get("emergency_masked", False) and not mask_everything)


@pytest.fixture
def world(personas):
    from stdnum import luhn

    def rpps(n):
        base = f"3000000{n:03d}"
        return base + luhn.calc_check_digit(base)

    marie = personas.mother
    me = actor_for_user(personas.mother.user)
    actors = {
        ("titulaire", None): me,
        ("caregiver", None): actor_for_user(personas.elder.user),
        ("stranger", None): Actor(ActorKind.PATIENT, person_id=personas.child.id),
        ("operator", None): Actor(ActorKind.OPERATOR, user_id=1),
        ("support", None): Actor(ActorKind.SUPPORT, user_id=2),
        ("system", None): SYSTEM,
    }
    link = access.invite_caregiver(me, marie, personas.elder)
    access.answer_caregiver_invitation(actors[("caregiver", None)], link, True)
    for n, (relation, profession) in enumerate(RELATIONS):
        if profession is None:
            continue
        if relation == "medecin_traitant":
            pro = personas.gp
        else:
            pro = identity.create_professional(
                rpps=rpps(n), profession=profession, first_name="A", last_name=relation
            )
        actor = Actor(ActorKind.PROFESSIONAL, professional_id=pro.id, profession=profession)
        if relation == "administrateur":
            PatientRole.objects.create(
                patient=marie, professional=pro, kind=PatientRole.Kind.ADMINISTRATEUR
            )
        if relation in ("consent", "blocked"):
            access.record_consent(actor, marie)
        if relation == "blocked":
            access.block_professional(me, marie, pro)
        if relation in ("samu", "btg"):
            access.start_emergency_access(actor, marie, relation, "Patiente inconsciente")
        actors[(relation, profession)] = actor
    return marie, actors


def test_every_decision_matches_access_md(world):
    marie, actors = world
    mismatches = []
    for setting, values in SETTINGS.items():
        AccessSettings.objects.update_or_create(
            patient=marie,
            defaults={
                "emergency_samu": True,
                "emergency_btg": True,
                "emergency_masked": False,
                "mask_everything": False,
                **values,
            },
        )
        for (relation, profession), type_code, flag in itertools.product(RELATIONS, TYPES, FLAGS):
            document = Document(
                patient=marie,
                type_code=type_code,
                source=Document.Source.PROFESSIONAL,
                masked_from_professionals=flag == "masked",
                invisible_patient=flag == "invisible_patient",
                invisible_representatives=flag == "invisible_representatives",
            )
            got = can(actors[(relation, profession)], Action.READ, marie.id, document)
            want = expected(relation, profession, type_code, flag, setting)
            if got != want:
                mismatches.append((relation, profession, type_code, flag, setting, got, want))
    total = len(SETTINGS) * len(RELATIONS) * len(TYPES) * len(FLAGS)
    assert total > 2000
    assert mismatches == [], f"{len(mismatches)} décisions sur {total} : {mismatches[:10]}"
