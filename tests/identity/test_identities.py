"""Registering citizens, professionals and organisations through the services."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from espace_sante.identity import services
from espace_sante.identity.models import Person, Professional, Role
from espace_sante.identity.reference import INS_DEMO_NIR, INS_NIA


def person_fields(**overrides):
    fields = dict(
        ins_matricule="288033155512345",
        ins_system=INS_DEMO_NIR,
        birth_name="Durand",
        first_names="  Marie   Claire ",
        birth_date=date(1988, 3, 14),
        sex="F",
        birth_place_code="31555",
        department="31",
        mobile_phone="06 12 34 56 78",
    )
    fields.update(overrides)
    return fields


@pytest.mark.django_db
def test_a_person_is_registered_with_normalised_ins_traits():
    person = services.create_person(**person_fields())
    person.refresh_from_db()
    assert person.birth_name == "DURAND"
    assert person.first_names == "Marie Claire"
    assert person.first_first_name == "Marie"
    assert person.mobile_phone == "+33612345678"
    assert person.identity_status == "provisoire"
    assert person.age_on(date(2026, 11, 24)) == 38


@pytest.mark.django_db
def test_a_person_whose_nir_contradicts_the_traits_is_not_registered():
    with pytest.raises(ValidationError) as error:
        services.create_person(**person_fields(sex="M"))
    assert "sex" in error.value.message_dict
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_a_nia_is_not_checked_against_the_traits():
    person = services.create_person(**person_fields(ins_system=INS_NIA, sex="M"))
    assert person.ins_system == INS_NIA


@pytest.mark.django_db
def test_the_same_ins_cannot_be_registered_twice():
    services.create_person(**person_fields())
    with pytest.raises(ValidationError):
        services.create_person(**person_fields())
    assert Person.objects.count() == 1


@pytest.mark.django_db
def test_every_bad_trait_is_reported_at_once_in_french():
    with pytest.raises(ValidationError) as error:
        services.create_person(
            **person_fields(
                ins_matricule="123",
                birth_place_code="Toulouse",
                department="20",
                mobile_phone="01 02 03 04 05",
                birth_date=date(2999, 1, 1),
            )
        )
    errors = error.value.message_dict
    assert {"ins_matricule", "birth_place_code", "department", "mobile_phone", "birth_date"} <= set(
        errors
    )
    assert "futur" in errors["birth_date"][0]


@pytest.mark.django_db
def test_a_professional_works_in_an_organisation_through_a_role():
    pro = services.create_professional(
        rpps="10001234565", profession="10", first_name="Claire", last_name="Martin"
    )
    org = services.create_organization(finess="310001235", kind="practice", name="Cabinet")
    role = services.add_role(pro, org, "Médecin généraliste")
    assert services.add_role(pro, org) == role  # adding again changes nothing
    assert Role.objects.count() == 1
    assert pro.id_nat == "810001234565"
    assert org.structure_id == "1310001235"
    assert pro.profession_label == "Médecin"


@pytest.mark.django_db
def test_a_professional_with_a_wrong_rpps_or_profession_is_refused():
    with pytest.raises(ValidationError) as error:
        services.create_professional(
            rpps="10001234566", profession="99", first_name="A", last_name="B"
        )
    assert set(error.value.message_dict) == {"rpps", "profession"}
    assert Professional.objects.count() == 0


@pytest.mark.django_db
def test_an_organisation_with_a_wrong_finess_key_is_refused():
    with pytest.raises(ValidationError) as error:
        services.create_organization(finess="310001236", kind="pharmacy", name="Pharmacie")
    assert "finess" in error.value.message_dict


@pytest.mark.django_db
def test_pro_sante_connect_identities_map_to_the_directory(personas):
    gp = personas.gp
    assert services.professional_for_oidc_claims("x", {"SubjectNameID": gp.id_nat}) == gp
    assert services.professional_for_oidc_claims(gp.rpps, {}) == gp
    assert services.professional_for_oidc_claims("899999999999", {}) is None
