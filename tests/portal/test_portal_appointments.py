"""A professional books an appointment in a patient's agenda from the portal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import services as agenda
from espace_sante.agenda.models import Appointment

from .test_portal import find, signed_in_professional

pytestmark = pytest.mark.django_db


def _form(**changes):
    day = timezone.localdate() + timedelta(days=7)
    data = {
        "day": day.isoformat(),
        "time": "09:15",
        "duration_minutes": "20",
        "with_whom": "Dr Martin",
        "place": "Cabinet médical, 3 rue des Lilas, Lyon",
        "reason": "Contrôle tension",
    }
    data.update(changes)
    return data


def test_the_medecin_traitant_books_and_marie_sees_who_added_it(personas):
    client = signed_in_professional(personas.gp, personas)
    marie = personas.mother
    response = client.post(f"/pro/patients/{marie.id}/rendez-vous/", _form())
    assert response.status_code == 302

    [row] = agenda.list_appointments(actor_for_user(marie.user), marie)
    start = agenda.local_start(row)
    assert (start.hour, start.minute, row.duration_minutes) == (9, 15, 20)
    assert row.reason == "Contrôle tension"
    assert agenda.added_by(row, actor_for_user(marie.user)).startswith("ajouté par Dr")
    assert "Martin" in agenda.added_by(row)
    page = client.get(f"/pro/patients/{marie.id}/").content.decode()
    assert "Cabinet médical, 3 rue des Lilas" in page


def test_a_refused_form_keeps_what_was_typed_and_says_why_in_french(personas):
    client = signed_in_professional(personas.gp, personas)
    marie = personas.mother
    response = client.post(
        f"/pro/patients/{marie.id}/rendez-vous/",
        _form(day="2099-01-01", reason="Bilan annuel complet"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "dans 5 ans" in page
    assert 'value="Bilan annuel complet"' in page
    assert not Appointment.objects.filter(patient=marie).exists()


def test_a_professional_without_relation_is_told_why_and_nothing_is_booked(personas):
    client = signed_in_professional(personas.hospital_doctor, personas)
    marie = personas.mother
    find(client, marie)  # found by her traits: the page is shown, the agenda is not hers
    page = client.get(f"/pro/patients/{marie.id}/").content.decode()
    assert "Pour ajouter un rendez-vous à son agenda" in page
    response = client.post(f"/pro/patients/{marie.id}/rendez-vous/", _form())
    assert response.status_code == 400
    assert "avoir son consentement" in response.content.decode()
    assert not Appointment.objects.filter(patient=marie).exists()


def test_the_professional_cancels_what_he_booked(personas):
    client = signed_in_professional(personas.gp, personas)
    marie = personas.mother
    client.post(f"/pro/patients/{marie.id}/rendez-vous/", _form())
    row = Appointment.objects.get(patient=marie)
    response = client.post(f"/pro/patients/{marie.id}/rendez-vous/{row.id}/annuler/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "cancelled"
