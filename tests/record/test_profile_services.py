"""The medical profile through its services: every section, the rules, the refusals."""

from decimal import Decimal

import pytest

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import SYSTEM, NotAllowed
from espace_sante.crypto.services import DecryptionFailed
from espace_sante.record.profile import services
from espace_sante.record.profile.models import Allergy, BloodGroup, Measure, Vaccination

from .profile_support import SAMPLES, actor, denials

pytestmark = pytest.mark.django_db

WEIGHT, BLOOD_PRESSURE, GLUCOSE = "29463-7", "85354-9", "2339-0"


def audited(patient, action, object_type, obj=None):
    entries = AuditEntry.objects.filter(
        patient_id=patient.id,
        action=action,
        object_type=object_type,
        outcome=AuditEntry.Outcome.ALLOWED,
    )
    if obj is not None:
        entries = entries.filter(object_id=obj.pk)
    return entries.count()


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_the_titulaire_adds_changes_and_deletes_an_entry_of_every_section(personas, key):
    marie = personas.mother
    me = actor(marie)
    data, changed, shown, shown_after = SAMPLES[key]

    row = services.add_entry(me, marie, key, data)
    listed = services.list_section(me, marie, key)
    assert [r.id for r in listed] == [row.id]
    assert shown in [row.title, *(text for _, text in listed[0].details())]
    assert audited(marie, "create", f"profile:{key}", row) == 1

    services.update_entry(me, marie, key, row.id, changed)
    again = services.get_entry(me, marie, key, row.id)
    texts = [again.title, *(text for _, text in again.details())]
    assert shown_after in texts and shown not in texts
    assert audited(marie, "update", f"profile:{key}", row) == 1

    services.delete_entry(me, marie, key, row.id)
    assert services.list_section(me, marie, key) == []
    assert audited(marie, "delete", f"profile:{key}", row) == 1
    assert audited(marie, "list", f"profile:{key}") == 2


def test_singletons_are_one_row_per_patient_and_can_be_erased(personas):
    marie = personas.mother
    me = actor(marie)
    first = services.set_blood_group(me, marie, "A+")
    second = services.set_blood_group(me, marie, "O-")
    assert first.id == second.id
    assert BloodGroup.objects.filter(patient=marie).count() == 1
    assert services.get_singleton(me, marie, "blood_group").title == "O− (O négatif)"

    services.set_lifestyle(me, marie, {"sleep": "7 heures", "tobacco": "Non-fumeuse"})
    habits = services.get_singleton(me, marie, "lifestyle")
    assert habits.details() == [("Sommeil", "7 heures"), ("Tabac", "Non-fumeuse")]

    services.set_organ_donation(me, marie, "refuse")
    assert "refuse" in services.get_singleton(me, marie, "wishes").title

    for key in ("blood_group", "lifestyle", "wishes"):
        services.clear_singleton(me, marie, key)
        assert services.get_singleton(me, marie, key) is None
        assert audited(marie, "delete", f"profile:{key}") == 1


def test_treatments_are_current_until_their_end_date(personas):
    marie = personas.mother
    me = actor(marie)
    services.add_entry(me, marie, "treatments", {"name": "Doliprane 1000 mg"})
    services.add_entry(
        me,
        marie,
        "treatments",
        {"name": "Amoxicilline", "start_date": "2024-01-02", "end_date": "2024-01-09"},
    )
    summary = services.profile_summary(me, marie)
    assert [t.title for t in summary.current_treatments] == ["Doliprane 1000 mg"]
    assert [t.title for t in summary.past_treatments] == ["Amoxicilline"]


def test_a_vaccination_entered_by_the_patient_says_so(personas):
    marie = personas.mother
    row = services.add_entry(
        actor(marie), marie, "vaccinations", {"vaccine": "Zona", "vaccinated_on": "2025-02-01"}
    )
    assert row.recorded_by == Vaccination.RecordedBy.PATIENT
    assert ("Noté par", "Vous-même") in row.details()


BAD_VALUES = [
    (
        "allergies",
        {"substance": "", "severity": "legere"},
        "substance",
        "Indiquez la substance",
    ),
    ("conditions", {"name": " "}, "name", "Indiquez la maladie ou le sujet de santé."),
    (
        "conditions",
        {"name": "Asthme", "start_date": "2020-01-01", "end_date": "2019-01-01"},
        "end_date",
        "La date de fin ne peut pas être avant la date de début.",
    ),
    (
        "conditions",
        {"name": "Asthme", "start_date": "1950-01-01"},
        "start_date",
        "Cette date est antérieure à la date de naissance (14/03/1988).",
    ),
    (
        "conditions",
        {"name": "Asthme", "start_date": "31/02/2020"},
        "start_date",
        "Saisissez une date valide, par exemple 14/03/2025.",
    ),
    (
        "treatments",
        {"dosage": "1 par jour"},
        "name",
        "Indiquez le nom du médicament ou son code CIP.",
    ),
    ("treatments", {"cip_code": "12345"}, "cip_code", "Le code CIP compte 7 ou 13 chiffres"),
    (
        "vaccinations",
        {"vaccine": "ROR", "vaccinated_on": "2099-01-01"},
        "vaccinated_on",
        "La date de vaccination ne peut pas être dans le futur.",
    ),
    (
        "contacts",
        {"kind": "urgence", "name": "Paul", "phone": "appelez-moi"},
        "phone",
        "Saisissez un numéro de téléphone, par exemple 06 12 34 56 78.",
    ),
    (
        "contacts",
        {"kind": "urgence", "name": "Paul", "email": "paul@"},
        "email",
        "Saisissez une adresse électronique valide",
    ),
    (
        "family_history",
        {"relation": "cousin", "condition": "Diabète"},
        "relation",
        "Choisissez une réponse de la liste.",
    ),
]


def test_bad_values_are_refused_with_a_french_sentence_saying_what_to_do(personas):
    marie = personas.mother
    for key, data, field, message in BAD_VALUES:
        with pytest.raises(services.ProfileInvalid) as refused:
            services.add_entry(actor(marie), marie, key, data)
        errors = refused.value.message_dict.get(field, [])
        assert any(message in text for text in errors), (key, data, errors)
        assert services.list_section(actor(marie), marie, key) == []


def test_measures_accept_a_french_comma_and_refuse_out_of_range_values(personas):
    marie = personas.mother
    me = actor(marie)
    services.add_measure(me, marie, WEIGHT, {"value": "72,5", "date": "2025-03-01"})
    services.add_measure(me, marie, WEIGHT, {"value": " 71.25 ", "date": "2025-04-01"})
    series = services.measure_series(me, marie, WEIGHT)
    assert [p.value for p in series] == [Decimal("71.2"), Decimal("72.5")]  # newest first
    assert series[1].display == "72,5 kg"

    cases = [
        ({"value": "500"}, "value", "Le poids doit être compris entre 0,5 et 400 kg."),
        ({"value": "0,2"}, "value", "Le poids doit être compris entre 0,5 et 400 kg."),
        ({"value": "soixante"}, "value", "Saisissez un nombre, par exemple 72,5."),
        ({"value": ""}, "value", "Indiquez la valeur : poids."),
    ]
    for data, field, message in cases:
        with pytest.raises(services.ProfileInvalid) as refused:
            services.add_measure(me, marie, WEIGHT, {"date": "2025-03-01", **data})
        assert refused.value.message_dict[field] == [message]
    with pytest.raises(services.ProfileInvalid) as refused:
        services.add_measure(me, marie, WEIGHT, {"value": "70", "date": "2099-03-01"})
    assert refused.value.message_dict["date"] == [
        "La date de la mesure ne peut pas être dans le futur."
    ]
    assert len(services.measure_series(me, marie, WEIGHT)) == 2


def test_blood_pressure_keeps_both_values_in_order(personas):
    marie = personas.mother
    me = actor(marie)
    services.add_measure(
        me, marie, BLOOD_PRESSURE, {"value": "128", "second_value": "82", "date": "2025-05-02"}
    )
    (point,) = services.measure_series(me, marie, BLOOD_PRESSURE)
    assert (point.value, point.second_value, point.display) == (128, 82, "128/82 mmHg")
    with pytest.raises(services.ProfileInvalid) as refused:
        services.add_measure(
            me, marie, BLOOD_PRESSURE, {"value": "80", "second_value": "120", "date": "2025-05-02"}
        )
    assert "Vérifiez l'ordre des deux chiffres" in refused.value.message_dict["second_value"][0]
    with pytest.raises(services.ProfileInvalid) as refused:
        services.add_measure(
            me, marie, BLOOD_PRESSURE, {"value": "400", "second_value": "80", "date": "2025-05-02"}
        )
    assert refused.value.message_dict["value"] == [
        "La pression systolique doit être comprise entre 50 et 300 mmHg."
    ]


def test_glucose_in_another_unit_is_charted_in_mg_per_dl(personas):
    marie = personas.mother
    me = actor(marie)
    services.add_measure(me, marie, GLUCOSE, {"value": "1,05", "unit": "g/L", "date": "2025-05-02"})
    (point,) = services.measure_series(me, marie, GLUCOSE)
    assert point.display == "1,05 g/L"
    assert point.chart_value == Decimal("105")
    with pytest.raises(services.ProfileInvalid) as refused:
        services.add_measure(
            me, marie, GLUCOSE, {"value": "60", "unit": "mmol/L", "date": "2025-05-02"}
        )
    assert refused.value.message_dict["value"] == [
        "La glycémie doit être comprise entre 0,5 et 55 mmol/L."
    ]


def test_a_measure_target_is_one_per_type_and_can_be_cleared(personas):
    marie = personas.mother
    me = actor(marie)
    services.set_measure_target(me, marie, WEIGHT, {"value": "65"})
    services.set_measure_target(me, marie, WEIGHT, {"value": "63,5"})
    assert services.get_measure_target(me, marie, WEIGHT).display == "63,5 kg"
    services.clear_measure_target(me, marie, WEIGHT)
    assert services.get_measure_target(me, marie, WEIGHT) is None


def test_latest_measures_give_the_newest_value_and_the_count_of_each_type(personas):
    marie = personas.mother
    me = actor(marie)
    for day, value in (("2025-01-01", "70"), ("2025-03-01", "68"), ("2025-02-01", "69")):
        services.add_measure(me, marie, WEIGHT, {"value": value, "date": day})
    latest = {item.measure.code: item for item in services.latest_measures(me, marie)}
    assert latest[WEIGHT].point.display == "68,0 kg" and latest[WEIGHT].count == 3
    assert latest[BLOOD_PRESSURE].point is None and latest[BLOOD_PRESSURE].count == 0


def test_another_citizen_and_a_professional_are_refused_and_traced(personas):
    marie, jean = personas.mother, personas.elder
    own = services.add_entry(
        actor(marie), marie, "allergies", {"substance": "Pénicilline", "severity": "severe"}
    )
    attempts = [
        lambda who: services.list_section(who, marie, "allergies"),
        lambda who: services.get_entry(who, marie, "allergies", own.id),
        lambda who: services.add_entry(who, marie, "allergies", {"substance": "X"}),
        lambda who: services.update_entry(who, marie, "allergies", own.id, {"substance": "X"}),
        lambda who: services.delete_entry(who, marie, "allergies", own.id),
        lambda who: services.set_blood_group(who, marie, "B+"),
        lambda who: services.add_measure(who, marie, WEIGHT, {"value": "70", "date": "2025-01-01"}),
        lambda who: services.measure_series(who, marie, WEIGHT),
        lambda who: services.profile_summary(who, marie),
    ]
    for who in (actor(jean), actor(personas.gp), None):
        for attempt in attempts:
            with pytest.raises(NotAllowed):
                attempt(who)
    assert denials(marie, "profile:allergies", actor_person_id=jean.id).count() == 5
    assert denials(marie, "profile:allergies", actor_professional_id=personas.gp.id).count() == 5
    assert denials(marie, "profile:measures", actor_kind="anonymous").count() == 2
    assert denials(marie, "profile:summary").count() == 3
    assert Allergy.objects.get(pk=own.pk).substance == "Pénicilline"
    assert not BloodGroup.objects.filter(patient=marie).exists()
    assert not Measure.objects.filter(patient=marie).exists()


def test_an_entry_is_reached_only_through_its_own_patient(personas):
    marie, jean = personas.mother, personas.elder
    hers = services.add_entry(actor(marie), marie, "conditions", {"name": "Asthme"})
    # Jean may act on his own profile, but Marie's entry id does not exist there.
    for attempt in (
        lambda: services.get_entry(actor(jean), jean, "conditions", hers.id),
        lambda: services.update_entry(actor(jean), jean, "conditions", hers.id, {"name": "X"}),
        lambda: services.delete_entry(actor(jean), jean, "conditions", hers.id),
        lambda: services.get_entry(actor(jean), jean, "conditions", "pas-un-uuid"),
    ):
        with pytest.raises(NotAllowed):
            attempt()
    assert services.get_entry(actor(marie), marie, "conditions", hers.id).name == "Asthme"


def test_a_ciphertext_moved_to_another_row_or_field_does_not_decrypt(personas):
    marie = personas.mother
    me = actor(marie)
    first = services.add_entry(
        me, marie, "allergies", {"substance": "Latex", "reaction": "Rougeur"}
    )
    second = services.add_entry(me, marie, "allergies", {"substance": "Pollen"})
    Allergy.objects.filter(pk=second.pk).update(substance_encrypted=first.substance_encrypted)
    with pytest.raises(DecryptionFailed):
        _ = Allergy.objects.get(pk=second.pk).substance
    Allergy.objects.filter(pk=first.pk).update(substance_encrypted=first.reaction_encrypted)
    with pytest.raises(DecryptionFailed):
        _ = Allergy.objects.get(pk=first.pk).substance


def test_the_service_itself_may_write_for_demo_and_imports(personas):
    leo = personas.child
    row = services.add_entry(
        SYSTEM, leo, "vaccinations", {"vaccine": "ROR", "vaccinated_on": "2021-05-23"}
    )
    assert services.list_section(SYSTEM, leo, "vaccinations")[0].id == row.id
