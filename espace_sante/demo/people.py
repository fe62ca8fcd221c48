"""Demo data: a small, realistic population to try the service with.

Idempotent: each entry is looked up by its national identifier first, so
running `espace-sante demo` twice changes nothing. Demo people carry the INS
demonstration OID, never the real NIR system.
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from espace_sante.identity import services as identity
from espace_sante.identity.models import Organization, Person, Professional, User
from espace_sante.identity.reference import INS_DEMO_NIR

# Public on purpose: printed by `make run` and listed in the README.
DEMO_PASSWORD = "Demo-espace-sante-2026"  # noqa: S105
# Base32 TOTP secret of every demo professional, so an authenticator app (or
# `espace-sante demo_totp`) can produce their codes. Public on purpose.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105
DEMO_DOMAIN = "demo.example"


@dataclass
class DemoSignIn:
    who: str
    email: str
    second_factor: str


ORGANIZATIONS = [
    dict(
        finess="310001235",
        kind="practice",
        name="Cabinet médical du Parc",
        address_line="12 allée des Platanes",
        postal_code="31400",
        city="Toulouse",
    ),
    dict(
        finess="310004569",
        kind="hospital",
        name="Centre hospitalier universitaire de Toulouse",
        address_line="2 rue Viguerie",
        postal_code="31059",
        city="Toulouse",
    ),
    dict(
        finess="310007893",
        kind="pharmacy",
        name="Pharmacie des Carmes",
        address_line="5 place des Carmes",
        postal_code="31000",
        city="Toulouse",
    ),
    dict(
        finess="440003218",
        kind="laboratory",
        name="Laboratoire BioOuest",
        address_line="18 boulevard Guist'hau",
        postal_code="44000",
        city="Nantes",
    ),
]

PROFESSIONALS = [
    dict(
        rpps="10001234565",
        profession="10",
        specialty="Médecine générale",
        title="Dr",
        first_name="Claire",
        last_name="Martin",
        email=f"claire.martin@{DEMO_DOMAIN}",
        organization="310001235",
        function="Médecin généraliste",
    ),
    dict(
        rpps="10002345675",
        profession="10",
        specialty="Cardiologie",
        title="Dr",
        first_name="Karim",
        last_name="Benali",
        email=f"karim.benali@{DEMO_DOMAIN}",
        organization="310004569",
        function="Praticien hospitalier",
    ),
    dict(
        rpps="10003456786",
        profession="21",
        specialty="Pharmacie d'officine",
        title="",
        first_name="Sophie",
        last_name="Lefèvre",
        email=f"sophie.lefevre@{DEMO_DOMAIN}",
        organization="310007893",
        function="Pharmacienne titulaire",
    ),
    dict(
        rpps="10004567896",
        profession="10",
        specialty="Biologie médicale",
        title="Dr",
        first_name="Thomas",
        last_name="Nguyen",
        email=f"thomas.nguyen@{DEMO_DOMAIN}",
        organization="440003218",
        function="Biologiste responsable",
    ),
]

PEOPLE = [
    dict(
        key="marie",
        ins_matricule="288033155512345",
        birth_name="DURAND",
        first_names="Marie Claire",
        birth_date=date(1988, 3, 14),
        sex="F",
        birth_place_code="31555",
        email=f"marie.durand@{DEMO_DOMAIN}",
        mobile_phone="+33612345678",
        address_line="24 rue des Lilas",
        postal_code="31400",
        city="Toulouse",
        department="31",
        account=True,
    ),
    dict(
        key="leo",
        ins_matricule="120054410904576",
        birth_name="DURAND",
        first_names="Léo",
        birth_date=date(2020, 5, 20),
        sex="M",
        birth_place_code="44109",
        address_line="24 rue des Lilas",
        postal_code="31400",
        city="Toulouse",
        department="31",
        account=False,
    ),
    dict(
        key="jean",
        ins_matricule="154028002101263",
        birth_name="PETIT",
        first_names="Jean Pierre André",
        birth_date=date(1954, 2, 8),
        sex="M",
        birth_place_code="80021",
        email=f"jean.petit@{DEMO_DOMAIN}",
        mobile_phone="+33698765432",
        address_line="3 chemin du Moulin",
        postal_code="80000",
        city="Amiens",
        department="80",
        account=True,
    ),
    # Pregnant (declared about 10 weeks ago by the agenda demo): her follow-up.
    dict(
        key="camille",
        ins_matricule="295063155512341",
        birth_name="LEROY",
        first_names="Camille",
        birth_date=date(1995, 6, 12),
        sex="F",
        birth_place_code="31555",
        email=f"camille.leroy@{DEMO_DOMAIN}",
        mobile_phone="+33687654321",
        address_line="7 rue du Taur",
        postal_code="31000",
        city="Toulouse",
        department="31",
        account=True,
    ),
]


def ensure_demo_totp(user: User) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)


@transaction.atomic
def load_demo(with_documents: bool = True, with_profile: bool = True) -> list[DemoSignIn]:
    organizations = {}
    for data in ORGANIZATIONS:
        org = Organization.objects.filter(finess=data["finess"]).first()
        organizations[data["finess"]] = org or identity.create_organization(**data)

    professionals = {}
    for data in PROFESSIONALS:
        data = dict(data)
        finess, function = data.pop("organization"), data.pop("function")
        pro = Professional.objects.filter(rpps=data["rpps"]).first()
        if pro is None:
            pro = identity.create_professional(**data)
        identity.add_role(pro, organizations[finess], function)
        if pro.user is None:
            identity.open_account(pro, data["email"], DEMO_PASSWORD)
        ensure_demo_totp(pro.user)
        professionals[data["rpps"]] = pro

    people = {}
    for data in PEOPLE:
        data = dict(data)
        key, account = data.pop("key"), data.pop("account")
        person = Person.objects.filter(
            ins_system=INS_DEMO_NIR, ins_matricule=data["ins_matricule"]
        ).first()
        if person is None:
            person = identity.create_person(
                ins_system=INS_DEMO_NIR, identity_status="qualifiee", **data
            )
        if account and person.user is None:
            identity.open_account(person, data["email"], DEMO_PASSWORD)
        people[key] = person

    marie = people["marie"]
    if marie.medecin_traitant_id is None:
        marie.medecin_traitant = professionals["10001234565"]
        marie.save(update_fields=["medecin_traitant"])
    for key in ("jean", "camille"):
        if people[key].medecin_traitant_id is None:
            people[key].medecin_traitant = professionals["10001234565"]
            people[key].save(update_fields=["medecin_traitant"])
    jean = people["jean"]
    identity.declare_representative(people["leo"], marie)

    if with_documents:
        from espace_sante.demo.documents import load_document_demo

        load_document_demo(people, professionals, organizations)
    if with_profile:
        from espace_sante.demo.profile import load_profile_demo

        load_profile_demo(people)
    if with_profile:  # the reminders read the profile: both or neither
        from espace_sante.demo.agenda import load_agenda_demo

        load_agenda_demo(people, professionals["10001234565"], organizations["310001235"])
    if with_documents:  # the demo conversations carry documents too
        from espace_sante.demo.messaging import load_messaging_demo

        load_messaging_demo(people, professionals, organizations)

    return [
        DemoSignIn(
            "Marie Durand, 38 ans, mère de Léo (6 ans)",
            marie.user.email,
            "code à usage unique par courriel",
        ),
        DemoSignIn("Jean Petit, 72 ans", jean.user.email, "code à usage unique par courriel"),
        DemoSignIn(
            "Camille Leroy, 31 ans, enceinte (suivi de grossesse dans l'agenda)",
            people["camille"].user.email,
            "code à usage unique par courriel",
        ),
        *[
            DemoSignIn(
                f"{p.display_name}, {p.specialty.lower()}",
                p.user.email,
                "code TOTP (application d'authentification)",
            )
            for p in professionals.values()
        ],
    ]
