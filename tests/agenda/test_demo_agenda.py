"""The demo's agenda tells the story of the README, worked out from the calendar.

On 1 December 2026: Marie (38, no cervical exam recorded) has her HPV test due
(women 30–65); Léo (6 and a half) his check-up of the 6th year and his M'T dents
of 6; Jean (72) the flu vaccine (season 15 October – 31 January, last one in
October 2025), colorectal screening (50–74) and Mon bilan prévention 70–75;
Camille, pregnant for 10 weeks (12 weeks of amenorrhoea), her first prenatal
consultation (before 15 WA), first ultrasound (11–13 WA + 6 days) and early
prenatal interview.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import services
from espace_sante.agenda.models import Appointment
from espace_sante.agenda.prevention import TO_DO
from espace_sante.demo.people import load_demo
from espace_sante.identity.models import Person

pytestmark = pytest.mark.django_db


def due(person, reader) -> set[str]:
    reminders = services.prevention_forecast(actor_for_user(reader.user), person).reminders
    return {one.rule_id for one in reminders if one.status == TO_DO}


def test_the_demo_agenda_and_reminders_and_loading_twice_changes_nothing():
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        load_demo(with_documents=False)
        load_demo(with_documents=False)
        marie = Person.objects.get(birth_name="DURAND", first_names="Marie Claire")
        leo = Person.objects.get(birth_name="DURAND", first_names="Léo")
        jean = Person.objects.get(birth_name="PETIT")
        camille = Person.objects.get(birth_name="LEROY")

        rows = list(Appointment.objects.filter(patient_id=marie.id).order_by("starts_at"))
        assert [row.source for row in rows] == ["professional", "patient"]
        assert services.local_start(rows[0]).date() == date(2026, 12, 1) + timedelta(days=7)
        assert services.added_by(rows[0], actor_for_user(marie.user)) == (
            "ajouté par Dr Claire Martin"
        )
        assert services.added_by(rows[1], actor_for_user(marie.user)) == "ajouté par vous"

        assert "depistage-col-hpv" in due(marie, marie)
        assert {"examen-enfant-6-ans", "dentaire-6ans"} <= due(leo, marie)
        assert {"vac-grippe", "depistage-colorectal", "bilan-prevention-70-75ans"} <= due(
            jean, jean
        )
        assert {
            "grossesse-consultation-1",
            "grossesse-echographie-1",
            "grossesse-entretien-prenatal",
        } <= due(camille, camille)
