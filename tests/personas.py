"""Persona builders that do not depend on the demo data (CONVENTIONS.md, point 12).

Each builder makes one named role through the same services the product
uses — identity registration, the patient's own access choices, the app
grants — with valid identifiers (NIR key, RPPS and FINESS check digits), so a
test says who is acting in one line: ``make_app(marie, "patient/*.rs")``,
``make_stranger()``, ``make_blocked_professional(marie)``.
"""

import itertools
import random
from datetime import date

from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

_serial = itertools.count(1)
# Directory numbers unlike the demo's, whatever else a test loaded.
_run = random.SystemRandom().randrange(100, 900)


def _nir(sex: str, birth: date) -> str:
    # Sex, year and month of birth, born in Toulouse (31555), then an order number.
    sex_digit = "1" if sex == "M" else "2"
    body = f"{sex_digit}{birth.year % 100:02d}{birth.month:02d}31555{next(_serial) % 1000:03d}"
    return body + stdnum_nir.calc_check_digits(body)


def _rpps() -> str:
    first = f"1{_run:03d}{next(_serial) % 1000000:06d}"
    return first + luhn.calc_check_digit(first)


def _finess() -> str:
    from espace_sante.identity.validators import finess_check_digit

    first = f"31{_run % 100:02d}{next(_serial) % 10000:04d}"
    return first + finess_check_digit(first)


def make_person(
    first_names="Camille", birth_name="BERNARD", sex="F", birth=date(1990, 6, 15), account=True
):
    """A citizen with an open space (and a sign-in account unless ``account=False``)."""
    from espace_sante.identity import services as identity

    person = identity.create_person(
        ins_system="1.2.250.1.213.1.4.8",
        identity_status="qualifiee",
        ins_matricule=_nir(sex, birth),
        birth_name=birth_name,
        first_names=first_names,
        birth_date=birth,
        sex=sex,
        birth_place_code="31555",
        department="31",
    )
    if account:
        identity.open_account(person, f"{person.ins_matricule}@personas.test", None)
    return person


def make_stranger(**fields):
    """A citizen with their own space and no link at all to anyone else's."""
    fields.setdefault("first_names", "Paul")
    fields.setdefault("birth_name", "INCONNU")
    fields.setdefault("sex", "M")
    fields.setdefault("birth", date(1975, 2, 3))
    return make_person(**fields)


def make_professional(profession="10", last_name="Roux", organization=None):
    """A professional of the directory, working in ``organization`` (a new practice by default)."""
    from espace_sante.identity import services as identity

    professional = identity.create_professional(
        rpps=_rpps(), profession=profession, first_name="Alex", last_name=last_name, title="Dr"
    )
    if organization is None:
        organization = identity.create_organization(
            finess=_finess(), kind="practice", name=f"Cabinet {last_name}"
        )
    identity.add_role(professional, organization)
    return professional


def patient_actor(person):
    from espace_sante.access.policy import actor_for_user

    return actor_for_user(person.user)


def make_blocked_professional(patient, profession="10", **fields):
    """A professional the patient consented to once, then blocked (consent ends with the block)."""
    from espace_sante.access import services as access
    from espace_sante.access.consent_models import Consent

    professional = make_professional(profession, last_name=fields.pop("last_name", "Bloqué"))
    Consent.objects.create(patient=patient, professional=professional)
    access.block_professional(patient_actor(patient), patient, professional)
    return professional


def make_application(name="Carnet de santé (application)"):
    """A connected app's OAuth2 client (django-oauth-toolkit), without any grant."""
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    return Application.objects.create(
        name=name,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example/callback",
    )


def make_app(patient, scopes, name="Carnet de santé (application)", purposes=("suivi",), **grant):
    """An app the patient authorised for ``scopes`` (through ``access.grants.grant_app``).

    Scopes that grant no data (``openid``…) give no grant: the app is then an
    app without a grant.
    """
    from espace_sante.access import grants
    from espace_sante.access.scopes import normalise

    application = make_application(name)
    if normalise(scopes):
        grants.grant_app(
            patient_actor(patient), patient, application, scopes, purposes=purposes, **grant
        )
    return application
