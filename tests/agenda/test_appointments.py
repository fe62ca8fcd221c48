"""Appointments in a person's agenda: who may add, see and cancel them, and what is kept secret."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from espace_sante.access.consent_models import Consent
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import NotAllowed, actor_for_user
from espace_sante.agenda import services
from espace_sante.agenda.models import Appointment
from tests.access.test_policy_table import pro_actor
from tests.personas import make_blocked_professional, make_person, make_professional, make_stranger

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def _next_week(hour=10):
    day = timezone.localdate() + timedelta(days=7)
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=PARIS)


def _data(**changes):
    data = {
        "starts_at": _next_week(),
        "duration_minutes": 30,
        "reason": "Renouvellement du traitement de la thyroïde",
        "place": "Cabinet du Dr Martin, Lyon",
        "with_whom": "Dr Martin",
    }
    data.update(changes)
    return data


@pytest.fixture
def marie():
    return make_person(first_names="Marie", birth_name="DURAND")


def test_the_person_adds_an_appointment_that_is_hers_and_encrypted(marie):
    me = actor_for_user(marie.user)
    row = services.add_appointment(me, marie, _data())

    [found] = services.list_appointments(me, marie)
    assert found.reason == "Renouvellement du traitement de la thyroïde"
    assert services.local_start(found).hour == 10
    assert services.added_by(found, me) == "ajouté par vous"
    stored = Appointment.objects.filter(pk=row.id).values_list("reason_encrypted", flat=True)[0]
    assert b"thyro" not in bytes(stored)
    assert AuditEntry.objects.filter(
        patient_id=marie.id, object_type="agenda:appointment", action="create"
    ).exists()


def test_a_professional_with_a_consent_books_and_sees_only_what_he_booked(marie):
    pro = make_professional(last_name="Martin")
    Consent.objects.create(patient=marie, professional=pro)
    mine = services.add_appointment(actor_for_user(marie.user), marie, _data(reason="Dentiste"))
    booked = services.add_appointment(pro_actor(pro), marie, _data(reason="Contrôle"))

    assert services.added_by(booked) == "ajouté par Dr Alex Martin"
    assert [row.id for row in services.list_appointments(pro_actor(pro), marie)] == [booked.id]
    with pytest.raises(NotAllowed):
        services.get_appointment(pro_actor(pro), marie, mine.id)
    services.cancel_appointment(pro_actor(pro), marie, booked.id)
    assert Appointment.objects.get(pk=booked.id).status == "cancelled"
    with pytest.raises(NotAllowed):
        services.cancel_appointment(pro_actor(pro), marie, mine.id)
    # The person sees both, with who added each.
    assert len(services.list_appointments(actor_for_user(marie.user), marie)) == 2


def test_a_professional_without_a_relation_cannot_book(marie):
    stranger = make_professional(last_name="Inconnu")
    with pytest.raises(NotAllowed):
        services.add_appointment(pro_actor(stranger), marie, _data())
    assert not Appointment.objects.filter(patient=marie).exists()
    assert AuditEntry.objects.filter(
        patient_id=marie.id, object_type="agenda:appointment", outcome=AuditEntry.Outcome.DENIED
    ).exists()


def test_a_blocked_professional_cannot_book_even_with_a_past_consent(marie):
    blocked = make_blocked_professional(marie)
    with pytest.raises(NotAllowed):
        services.add_appointment(pro_actor(blocked), marie, _data())


def test_a_stranger_citizen_sees_nothing(marie):
    services.add_appointment(actor_for_user(marie.user), marie, _data())
    with pytest.raises(NotAllowed):
        services.list_appointments(actor_for_user(make_stranger().user), marie)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"starts_at": datetime(2026, 12, 24, 10, 0)}, "starts_at", "fuseau"),  # noqa: DTZ001 (naive on purpose)
        ({"starts_at": datetime(3000, 1, 1, tzinfo=PARIS)}, "starts_at", "dans 5 ans"),
        ({"duration_minutes": 0}, "duration_minutes", "entre 5 minutes"),
        ({"duration_minutes": "trente"}, "duration_minutes", "en minutes"),
        ({"reason": "x" * 201}, "reason", "200 caractères"),
        ({"reason": "fdp\x00.exe"}, "reason", "caractère de contrôle"),
        ({"reason": "fdp\u202eexe.pdf"}, "reason", "inversion du sens"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "n'existe pas"),
    ],
)
def test_bad_input_is_refused_with_a_french_reason(marie, changes, field, words):
    with pytest.raises(services.AppointmentInvalid) as refused:
        services.add_appointment(actor_for_user(marie.user), marie, _data(**changes))
    assert words in refused.value.errors[field]
    assert not Appointment.objects.filter(patient=marie).exists()


def test_a_cancelled_appointment_cannot_be_moved_nor_come_back(marie):
    me = actor_for_user(marie.user)
    row = services.add_appointment(me, marie, _data())
    services.cancel_appointment(me, marie, row.id)
    services.cancel_appointment(me, marie, row.id)  # twice: nothing more happens
    assert Appointment.objects.get(pk=row.id).version == 2
    with pytest.raises(services.AppointmentInvalid):
        services.set_appointment_status(me, marie, row.id, "booked")
    with pytest.raises(services.AppointmentInvalid):
        services.update_appointment(me, marie, row.id, _data(reason="Autre"))


def test_a_stale_version_is_refused(marie):
    me = actor_for_user(marie.user)
    row = services.add_appointment(me, marie, _data())
    services.update_appointment(me, marie, row.id, _data(reason="Autre"), expected_version=1)
    with pytest.raises(services.StaleVersion):
        services.update_appointment(me, marie, row.id, _data(reason="Encore"), expected_version=1)


def test_the_person_cancels_but_does_not_rewrite_what_a_professional_booked(marie):
    pro = make_professional(last_name="Martin")
    Consent.objects.create(patient=marie, professional=pro)
    booked = services.add_appointment(pro_actor(pro), marie, _data(reason="Contrôle"))
    me = actor_for_user(marie.user)
    with pytest.raises(services.AppointmentInvalid) as refused:
        services.update_appointment(me, marie, booked.id, _data(reason="Autre chose"))
    assert "vous pouvez l'annuler" in refused.value.errors["status"]
    assert Appointment.objects.get(pk=booked.id).reason == "Contrôle"
    services.cancel_appointment(me, marie, booked.id)
    assert Appointment.objects.get(pk=booked.id).status == "cancelled"
