"""Demo agenda: appointments and a declared pregnancy, so the reminders tell a story.

Marie has an appointment next week added by Dr Martin (her médecin traitant)
and one she added herself; her cervical screening is due because no exam is
recorded. Léo's check-up, M'T dents and vaccines follow from his birth date and
vaccinations; Jean's flu, colorectal screening and Mon bilan prévention from his
age. Camille declared a pregnancy about 10 weeks ago.

Idempotent: a person who already has an appointment (or a declared pregnancy)
is left alone. Written through the agenda services, as the acting person or
professional, so the data is validated, encrypted and traced like any other.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import services
from espace_sante.agenda.models import Appointment
from espace_sante.identity.models import Organization, Person, Professional


def _at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=services.PARIS)


def load_agenda_demo(people: dict, gp: Professional, practice: Organization) -> None:
    today = timezone.localdate()
    marie: Person = people["marie"]
    if not Appointment.objects.filter(patient_id=marie.id).exists():
        doctor = actor_for_user(gp.user, organization_id=practice.id)
        services.add_appointment(
            doctor,
            marie,
            {
                "starts_at": _at(today + timedelta(days=7), 9, 30),
                "duration_minutes": 20,
                "with_whom": "Dr Claire Martin",
                "place": "Cabinet médical du Parc, 12 allée des Platanes, Toulouse",
                "reason": "Consultation de suivi",
            },
        )
        services.add_appointment(
            actor_for_user(marie.user),
            marie,
            {
                "starts_at": _at(today + timedelta(days=9), 17, 0),
                "duration_minutes": 30,
                "with_whom": "Cabinet dentaire des Carmes",
                "place": "8 rue des Filatiers, Toulouse",
                "reason": "Détartrage",
            },
            author_name=marie.display_name,
        )
    camille: Person | None = people.get("camille")
    if camille is not None:
        chosen = services.settings_of(camille)
        if chosen is None or chosen.pregnancy_start_date is None:
            services.declare_pregnancy(
                actor_for_user(camille.user), camille, today - timedelta(weeks=10)
            )
