"""The forecast from what the profile holds, read through the guarded profile services."""

from datetime import date, timedelta

import pytest

from espace_sante.access.consent_models import Consent
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import NotAllowed, actor_for_user
from espace_sante.agenda import services
from espace_sante.agenda.models import PreventionChoice
from espace_sante.agenda.prevention import DONE, TO_DO, TO_PLAN
from espace_sante.record.profile import services as profile
from tests.access.test_policy_table import pro_actor
from tests.personas import make_person, make_professional, make_stranger

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)


def test_a_vaccination_of_the_profile_removes_its_reminder_and_schedules_the_next():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    me = actor_for_user(odette.user)
    before = {
        r.rule_id: r.status for r in services.prevention_forecast(me, odette, TODAY).reminders
    }
    # prevention.md: shingles from 65, 2 doses 2 months apart.
    assert before["vac-zona-1"] == TO_DO
    profile.add_entry(
        me, odette, "vaccinations", {"vaccine": "Zona", "vaccinated_on": "2026-11-02"}
    )
    profile.add_entry(
        me,
        odette,
        "vaccinations",
        {"vaccine": "Vaccin contre la fièvre Q", "vaccinated_on": "2026-01-05"},
    )

    result = services.prevention_forecast(me, odette, TODAY)

    after = {r.rule_id: (r.status, r.due) for r in result.reminders}
    assert after["vac-zona-1"] == (DONE, date(2026, 11, 2))
    assert after["vac-zona-2"] == (TO_PLAN, date(2027, 1, 2))
    assert result.unrecognised == ["Vaccin contre la fièvre Q"]


def test_the_read_is_in_the_patients_history():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    services.prevention_forecast(actor_for_user(odette.user), odette, TODAY)
    assert AuditEntry.objects.filter(
        patient_id=odette.id,
        object_type="profile:vaccinations",
        outcome=AuditEntry.Outcome.ALLOWED,
    ).exists()


def test_a_stranger_gets_nothing_and_the_refusal_is_traced():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    stranger = make_stranger()
    with pytest.raises(NotAllowed):
        services.prevention_forecast(actor_for_user(stranger.user), odette, TODAY)
    assert AuditEntry.objects.filter(
        patient_id=odette.id, outcome=AuditEntry.Outcome.DENIED
    ).exists()


def test_names_typed_with_other_case_and_spaces_are_recognised():
    records, unknown = services.vaccination_records(
        [("  grippe   saisonnière ", date(2026, 10, 20)), ("Méningocoque C", date(2010, 1, 1))]
    )
    assert [(r.code, r.on) for r in records] == [("grippe", date(2026, 10, 20))]
    assert unknown == ["Méningocoque C"]


def test_marking_a_vaccination_reminder_done_records_it_in_the_profile():
    lucas = make_person(first_names="Lucas", birth_name="PETIT", sex="M", birth=date(2020, 6, 1))
    me = actor_for_user(lucas.user)
    assert _statuses(me, lucas)["vac-dtcap-6ans"] == TO_DO

    services.mark_done(me, lucas, "vac-dtcap-6ans", date(2026, 11, 20))

    assert _statuses(me, lucas)["vac-dtcap-6ans"] == DONE
    [entry] = profile.list_section(me, lucas, "vaccinations")
    assert entry.vaccine.startswith("DTCaP")
    assert entry.vaccinated_on == date(2026, 11, 20)


def test_marking_a_screening_done_records_the_exam_and_schedules_the_next_one():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    me = actor_for_user(odette.user)
    # prevention.md: mammography every 2 years from 50 to 74.
    assert _statuses(me, odette)["depistage-sein"] == TO_DO

    services.mark_done(me, odette, "depistage-sein", date(2026, 11, 20))

    reminders = {r.rule_id: r for r in services.prevention_forecast(me, odette, TODAY).reminders}
    assert reminders["depistage-sein"].status == DONE
    assert reminders["depistage-sein"].due == date(2028, 11, 20)
    [entry] = profile.list_section(me, odette, "screenings")
    assert entry.exam == "mammographie"
    assert entry.recorded_by == "patient"


def test_an_exam_in_the_future_is_refused_with_the_profiles_sentence():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    with pytest.raises(profile.ProfileInvalid) as refused:
        services.mark_done(actor_for_user(odette.user), odette, "depistage-sein", date(2099, 1, 1))
    assert "ne peut pas être dans le futur" in str(refused.value)


def test_not_concerned_hides_a_reminder_and_undoing_brings_it_back():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    me = actor_for_user(odette.user)
    services.set_choice(me, odette, "depistage-sein", "not_concerned")
    assert "depistage-sein" not in _statuses(me, odette)
    services.set_choice(me, odette, "depistage-sein", None)
    assert _statuses(me, odette)["depistage-sein"] == TO_DO


def test_turning_prevention_off_shows_no_reminder():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    me = actor_for_user(odette.user)
    services.set_prevention_enabled(me, odette, False)
    assert services.prevention_forecast(me, odette, TODAY).reminders == []
    services.set_prevention_enabled(me, odette, True)
    assert _statuses(me, odette)


def test_a_declared_pregnancy_brings_its_follow_up():
    anna = make_person(first_names="Anna", birth_name="LEROY", birth=date(1994, 5, 5))
    me = actor_for_user(anna.user)
    assert not any(r.kind == "pregnancy" for r in services.prevention_forecast(me, anna).reminders)
    from django.utils import timezone

    services.declare_pregnancy(me, anna, timezone.localdate() - timedelta(weeks=8))
    assert any(r.kind == "pregnancy" for r in services.prevention_forecast(me, anna).reminders)


def test_a_professional_cannot_change_a_persons_prevention_choices():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    pro = make_professional()
    Consent.objects.create(patient=odette, professional=pro)
    with pytest.raises(NotAllowed):
        services.set_choice(pro_actor(pro), odette, "depistage-sein", "dismissed")
    assert not PreventionChoice.objects.filter(patient=odette).exists()


def test_a_stranger_cannot_mark_a_reminder_done():
    odette = make_person(first_names="Odette", birth_name="MARCHAND", birth=date(1955, 3, 3))
    stranger = make_stranger()
    with pytest.raises(NotAllowed):
        services.mark_done(actor_for_user(stranger.user), odette, "vac-zona-1", TODAY)
    assert profile.list_section(actor_for_user(odette.user), odette, "vaccinations") == []


def _statuses(actor, person):
    return {
        r.rule_id: r.status for r in services.prevention_forecast(actor, person, TODAY).reminders
    }
