"""The demo profiles tell the story of the demo people, and loading them twice changes nothing."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from espace_sante.access.policy import SYSTEM
from espace_sante.demo.profile import load_profile_demo
from espace_sante.record.profile import services
from espace_sante.record.profile.encrypted import ProfileEntry

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("record").get_models()
        if issubclass(model, ProfileEntry)
    }


def test_the_demo_profiles_can_be_loaded_twice_without_changing_anything(personas):
    people = {"marie": personas.mother, "leo": personas.child, "jean": personas.elder}
    load_profile_demo(people)
    first = counts()
    load_profile_demo(people)
    assert counts() == first
    assert first["Measure"] > 100


def test_a_patient_who_already_has_entries_is_left_alone(personas):
    services.add_entry(SYSTEM, personas.elder, "allergies", {"substance": "Iode"})
    load_profile_demo({"jean": personas.elder})
    assert counts()["Condition"] == 0 and counts()["Allergy"] == 1


def test_the_demo_profiles_match_the_story(personas):
    marie, leo, jean = personas.mother, personas.child, personas.elder
    load_profile_demo({"marie": marie, "leo": leo, "jean": jean})

    conditions = [row.title for row in services.list_section(SYSTEM, jean, "conditions")]
    assert conditions == ["Hypertension artérielle", "Diabète de type 2"]
    treatments = [row.title for row in services.list_section(SYSTEM, jean, "treatments")]
    assert set(treatments) == {"Metformine 1000 mg", "Ramipril 5 mg"}
    hba1c = services.measure_series(SYSTEM, jean, "4548-4")
    today = timezone.localdate()
    assert len(hba1c) >= 8
    assert timezone.localdate(hba1c[-1].measured_at) >= today - timedelta(days=2 * 366)
    assert len(services.measure_series(SYSTEM, jean, "2339-0")) == 24
    pressures = services.measure_series(SYSTEM, jean, "85354-9")
    assert len(pressures) == 24 and all(p.second_value for p in pressures)
    assert services.measure_series(SYSTEM, jean, "29463-7")

    assert [row.title for row in services.list_section(SYSTEM, marie, "allergies")] == [
        "Pénicilline"
    ]
    assert services.get_singleton(SYSTEM, marie, "blood_group").group == "A+"
    kinds = {row.kind for row in services.list_section(SYSTEM, marie, "contacts")}
    assert kinds == {"urgence", "confiance"}
    vaccines = services.list_section(SYSTEM, marie, "vaccinations")
    dtcap = next(row for row in vaccines if row.vaccine.startswith("dTcaP"))
    assert marie.age_on(dtcap.vaccinated_on) == 25 and dtcap.vaccinated_on.year == 2013

    shots = services.list_section(SYSTEM, leo, "vaccinations")
    ages = sorted(
        (shot.vaccinated_on.year - leo.birth_date.year) * 12
        + shot.vaccinated_on.month
        - leo.birth_date.month
        for shot in shots
        if shot.vaccine.startswith("Hexavalent")
    )
    assert ages == [2, 4, 11]
    assert sum(shot.vaccine.startswith("ROR") for shot in shots) == 2
    heads = services.measure_series(SYSTEM, leo, "8287-5")
    assert len(heads) >= 8
    assert heads[0].value > heads[-1].value  # he grew
    assert len(services.measure_series(SYSTEM, leo, "8302-2")) >= 10
