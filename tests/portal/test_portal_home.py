"""The portal's home: the professional's patients, and the emergency accesses to them."""

import pytest

from espace_sante.access import services as access
from espace_sante.access.consent_models import Consent, EmergencyAccess
from tests.access.test_policy_table import pro_actor
from tests.personas import make_person

from .test_portal import signed_in_professional

pytestmark = pytest.mark.django_db


def test_the_medecin_traitant_sees_his_patients_and_why(personas):
    consented = make_person(first_names="Zoé", birth_name="ARNAUD")
    Consent.objects.create(patient=consented, professional=personas.gp)
    page = signed_in_professional(personas.gp, personas).get("/pro/").content.decode()
    # The demo's GP is the médecin traitant of Marie and Jean (demo/people.py).
    assert personas.mother.display_name in page
    assert personas.elder.display_name in page
    assert "Vous êtes son médecin traitant" in page
    assert "Zoé ARNAUD" in page and "Consentement du patient" in page
    assert f"/pro/patients/{consented.id}/" in page


def test_a_professional_without_patients_is_told_how_to_start(personas):
    page = signed_in_professional(personas.biologist, personas).get("/pro/").content.decode()
    assert "Aucun patient ne vous a encore désigné" in page
    assert personas.mother.display_name not in page


def test_an_emergency_access_to_his_patient_is_on_the_medecin_traitants_home(personas):
    access.start_emergency_access(
        pro_actor(personas.hospital_doctor),
        personas.mother,
        EmergencyAccess.Kind.BTG,
        "Patiente inconsciente aux urgences",
    )
    gp_home = signed_in_professional(personas.gp, personas).get("/pro/").content.decode()
    assert "Accès d'urgence aux dossiers de vos patients" in gp_home
    assert "Patiente inconsciente aux urgences" in gp_home
    assert personas.hospital_doctor.last_name in gp_home
    # Another professional is not told of it.
    assert "Patiente inconsciente" not in (
        signed_in_professional(personas.pharmacist, personas).get("/pro/").content.decode()
    )
