"""The Agenda pages through the Django test client: what a person sees and does.

Expected values come from the calendar (docs/domain prevention.md): Marie, born
14 March 1988, is 38 with no cervical exam recorded, so her cervical screening
is « à faire »; Léo, born 20 May 2020, is 6.
"""

import hashlib
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
import vobject

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import actor_for_user
from espace_sante.agenda import services
from espace_sante.agenda.models import Appointment, CalendarFeed, PreventionChoice
from espace_sante.record.profile import services as profile
from tests.access.test_policy_table import pro_actor
from tests.personas import make_stranger

pytestmark = pytest.mark.django_db

PARIS_NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 12 h 00 in Paris


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(PARIS_NOON, tick=False):
        yield


@pytest.fixture
def marie(client, personas):
    client.force_login(personas.mother.user)
    return personas.mother


def at_paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=services.PARIS)


def add_own(person, day=date(2026, 12, 8), hour=14, by=None, **extra):
    data = {
        "starts_at": at_paris(day, hour),
        "duration_minutes": 30,
        "with_whom": "Dr Roux, dermatologue",
        "place": "3 rue des Arts, Toulouse",
        "reason": "Grain de beauté",
        **extra,
    }
    return services.add_appointment(actor_for_user((by or person).user), person, data)


def add_by_gp(personas, person, day=date(2026, 12, 10), hour=9):
    actor = pro_actor(personas.gp)
    return services.add_appointment(
        actor,
        person,
        {
            "starts_at": at_paris(day, hour),
            "duration_minutes": 20,
            "with_whom": "Dr Claire Martin",
            "place": "Cabinet médical du Parc",
            "reason": "Renouvellement",
        },
    )


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- The agenda page -------------------------------------------------------------------


def test_the_agenda_lists_upcoming_appointments_in_french_with_who_added_them(
    client, marie, personas
):
    add_own(marie)
    add_by_gp(personas, marie)

    page = text(client.get("/agenda/"))

    assert "Votre espace" in page
    assert "8 décembre 2026 à 14 h 00" in page
    assert "10 décembre 2026 à 9 h 00" in page
    assert "Ajouté par vous" in page
    assert "Ajouté par Dr Claire Martin" in page
    assert "3 rue des Arts, Toulouse" in page
    assert page.index("8 décembre 2026") < page.index("10 décembre 2026")


def test_the_menu_offers_the_agenda(client, marie):
    page = client.get("/agenda/")
    agenda = [item for item in page.context["nav_items"] if item["label"] == "Agenda"]
    assert agenda == [{"url": "/agenda/", "label": "Agenda", "active": True, "badge": 0}]


def test_a_stranger_is_sent_to_sign_in(client):
    response = client.get("/agenda/")
    assert response.status_code == 302
    assert "/comptes/login/" in response["Location"]


def test_a_parent_sees_their_childs_agenda_and_the_page_says_whose(client, marie, personas):
    leo = personas.child
    add_own(leo, by=marie, reason="Vaccin")
    own = text(client.get("/agenda/"))
    assert "Vaccin" not in own

    page = text(client.get(f"/agenda/?espace={leo.id}"))

    assert f"Agenda de {leo.display_name}" in page
    assert f"Espace de <strong>{leo.display_name}</strong>" in page
    assert "Vaccin" in page


def test_someone_elses_space_is_not_found(client, marie):
    stranger = make_stranger()
    assert client.get(f"/agenda/?espace={stranger.id}").status_code == 404
    assert client.get(f"/agenda/prevention/?espace={stranger.id}").status_code == 404
    assert client.get("/agenda/?espace=pas-un-uuid").status_code == 404


# --- The month ---------------------------------------------------------------------------


def test_the_month_is_a_table_with_each_day_its_appointments_and_reminders(client, marie):
    add_own(marie, day=date(2026, 12, 8), hour=14)

    response = client.get("/agenda/mois/2026-12/")
    page = text(response)

    assert response.status_code == 200
    assert "<caption" in page and "Décembre 2026" in page
    assert page.count('<th scope="col">') == 7
    cells = re.findall(r"<td[^>]*>(.*?)</td>", page)
    eighth = next(cell for cell in cells if "8 décembre 2026" in cell)
    assert "14 h 00 : Dr Roux, dermatologue" in eighth
    # Already due reminders are shown today (1 December), the cervical screening among them.
    first = next(cell for cell in cells if "1er décembre 2026" in cell)
    assert "Aujourd'hui" in first and "Dépistage du cancer du col de l" in first
    assert 'href="/agenda/mois/2026-11/"' in page
    assert 'href="/agenda/mois/2027-01/"' in page


@pytest.mark.parametrize("month", ["2026-13", "demain", "1900-01"])
def test_a_month_that_does_not_exist_is_not_found(client, marie, month):
    assert client.get(f"/agenda/mois/{month}/").status_code == 404


# --- Add, edit, cancel ------------------------------------------------------------------


FORM = {
    "date": "2026-12-15",
    "time": "10:30",
    "duration": "45",
    "with_whom": "Dr Roux",
    "place": "Clinique des Lilas",
    "reason": "Consultation",
}


def test_adding_an_appointment_reads_the_time_in_paris(client, marie):
    response = client.post("/agenda/rendez-vous/nouveau/", FORM)

    assert response.status_code == 302
    row = Appointment.objects.get(patient_id=marie.id)
    # 10 h 30 in Paris in December (UTC+1) is 9 h 30 UTC.
    assert row.starts_at == datetime(2026, 12, 15, 9, 30, tzinfo=services.zoneinfo.ZoneInfo("UTC"))
    assert row.duration_minutes == 45
    assert row.source == Appointment.Source.PATIENT
    assert "15 décembre 2026 à 10 h 30" in text(client.get("/agenda/"))


def test_a_refused_appointment_says_why_per_field_and_keeps_what_was_typed(client, marie):
    response = client.post(
        "/agenda/rendez-vous/nouveau/",
        {**FORM, "date": "2035-01-01", "duration": "2", "place": "x" * 201},
    )

    page = text(response)
    assert response.status_code == 200  # the form again, with its messages
    assert "La date du rendez-vous doit être comprise entre il y a 2 ans et dans 5 ans." in page
    assert "La durée doit être comprise entre 5 minutes et 12 heures." in page
    assert "Le lieu ne doit pas dépasser 200 caractères (201 saisis)." in page
    assert 'value="2035-01-01"' in page and 'value="Dr Roux"' in page
    assert 'value="10:30"' in page
    assert 'value="Consultation"' in page
    assert not Appointment.objects.filter(patient_id=marie.id).exists()


def test_a_badly_typed_date_is_explained_in_french(client, marie):
    response = client.post("/agenda/rendez-vous/nouveau/", {**FORM, "date": "31/02/2026"})
    assert response.status_code == 200  # the form again, with its messages
    assert "Indiquez une date valide" in text(response)


def test_editing_ones_own_appointment(client, marie):
    row = add_own(marie)
    form = client.get(f"/agenda/rendez-vous/{row.id}/modifier/")
    assert 'value="08/12/2026"' in text(form) and 'value="14:00"' in text(form)

    response = client.post(f"/agenda/rendez-vous/{row.id}/modifier/", {**FORM, "time": "16:00"})

    assert response.status_code == 302
    row.refresh_from_db()
    assert services.local_start(row).hour == 16
    assert row.place == "Clinique des Lilas"


def test_a_professionals_appointment_can_be_cancelled_not_edited(client, marie, personas):
    row = add_by_gp(personas, marie)
    page = text(client.get("/agenda/"))
    assert f"/agenda/rendez-vous/{row.id}/modifier/" not in page

    refused = client.post(f"/agenda/rendez-vous/{row.id}/modifier/", FORM)
    assert refused.status_code == 302
    row.refresh_from_db()
    assert row.place == "Cabinet médical du Parc"

    confirm = text(client.get(f"/agenda/rendez-vous/{row.id}/annuler/"))
    assert "Voulez-vous vraiment annuler ce rendez-vous ?" in confirm
    row.refresh_from_db()
    assert row.status == Appointment.Status.BOOKED  # asking is not cancelling

    client.post(f"/agenda/rendez-vous/{row.id}/annuler/")
    row.refresh_from_db()
    assert row.status == Appointment.Status.CANCELLED
    assert "Annulé" in text(client.get("/agenda/"))


def test_another_persons_appointment_is_not_found(client, marie):
    stranger = make_stranger()
    theirs = add_own(stranger)
    assert client.get(f"/agenda/rendez-vous/{theirs.id}/modifier/").status_code == 404
    assert client.post(f"/agenda/rendez-vous/{theirs.id}/annuler/").status_code == 404
    assert client.get(f"/agenda/rendez-vous/{theirs.id}.ics").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Appointment.Status.BOOKED


def test_one_appointment_downloads_as_ics_with_its_details(client, marie):
    row = add_own(marie)
    response = client.get(f"/agenda/rendez-vous/{row.id}.ics")

    assert response["Content-Type"].startswith("text/calendar")
    event = vobject.readOne(response.content.decode()).vevent
    assert event.uid.value == f"rdv-{row.id}@espace-sante"
    assert event.dtstart.value == at_paris(date(2026, 12, 8), 14)
    assert event.summary.value == "Rendez-vous médical : Grain de beauté"
    assert event.location.value == "3 rue des Arts, Toulouse"


# --- Prevention ------------------------------------------------------------------------


def groups(page: str) -> dict[str, str]:
    """The text of each group « À faire / À planifier / Fait »."""
    found = {}
    for name in ("À faire", "À planifier", "Fait"):
        start = page.index(f">{name} (")
        end = page.index("</section>", start)
        found[name] = page[start:end]
    return found


def test_reminders_are_grouped_with_level_reason_and_source(client, marie):
    page = text(client.get("/agenda/prevention/"))

    to_do = groups(page)["À faire"]
    assert "Dépistage du cancer du col de l&#x27;utérus" in to_do or "col de l" in to_do
    card = to_do[to_do.index("col de l") - 200 :]
    assert "recommandé" in card[:1500]
    assert "Vous avez 38 ans" in card[:2500]
    assert "Source :" in card[:3000]


def test_marking_a_reminder_done_records_it_and_moves_it_to_done(client, marie):
    rule = "depistage-col-hpv"
    before = {
        r.rule_id for r in services.prevention_forecast(actor_for_user(marie.user), marie).reminders
    }
    assert rule in before, before

    response = client.post("/agenda/prevention/fait/", {"rule": rule, "on": "2026-11-20"})

    assert response.status_code == 302
    after = {
        r.rule_id: r
        for r in services.prevention_forecast(actor_for_user(marie.user), marie).reminders
    }
    assert after[rule].status == "fait"
    assert after[rule].done_on == date(2026, 11, 20)
    assert "20 novembre 2026" in groups(text(client.get("/agenda/prevention/")))["Fait"]


def test_a_date_in_the_future_is_refused_in_french_and_the_typed_date_kept(client, marie):
    rule = "depistage-col-hpv"
    response = client.post("/agenda/prevention/fait/", {"rule": rule, "on": "2027-01-05"})

    page = text(response)
    assert response.status_code == 200  # the form again, with its messages
    assert 'value="2027-01-05"' in page
    assert "futur" in page.lower()
    assert not profile.list_section(actor_for_user(marie.user), marie, "screenings")


def test_not_concerned_hides_a_reminder_until_undone(client, marie):
    rule = "depistage-col-hpv"
    client.post("/agenda/prevention/choix/", {"rule": rule, "choice": "not_concerned"})
    page = text(client.get("/agenda/prevention/"))
    assert f'id="rappel-{rule}"' not in page
    assert "Rappels écartés" in page and "pas concerné(e)" in page

    client.post("/agenda/prevention/choix/", {"rule": rule, "choice": ""})
    assert f'id="rappel-{rule}"' in text(client.get("/agenda/prevention/"))
    assert not PreventionChoice.objects.filter(patient_id=marie.id).exists()


def test_an_unknown_rule_is_explained(client, marie):
    response = client.post("/agenda/prevention/choix/", {"rule": "inventee", "choice": "dismissed"})
    assert response.status_code == 302
    assert "Ce rappel n&#x27;existe pas." in text(client.get(response["Location"]))


def test_prevention_can_be_turned_off_and_on(client, marie):
    client.post("/agenda/prevention/activation/", {"enabled": "0"})
    page = text(client.get("/agenda/prevention/"))
    assert "La prévention personnalisée est désactivée" in page
    assert 'data-testid="rappel"' not in page

    client.post("/agenda/prevention/activation/", {"enabled": "1"})
    assert 'data-testid="rappel"' in text(client.get("/agenda/prevention/"))


def test_declaring_a_pregnancy_adds_its_follow_up_and_can_be_withdrawn(client, marie):
    start = date(2026, 10, 1)
    client.post("/agenda/prevention/grossesse/", {"action": "declare", "on": start.isoformat()})
    page = text(client.get("/agenda/prevention/"))
    assert "début le 1er octobre 2026" in page
    assert "prénatal" in page.lower()

    client.post("/agenda/prevention/grossesse/", {"action": "end"})
    assert "Déclarer la grossesse" in text(client.get("/agenda/prevention/"))


def test_a_pregnancy_in_the_future_is_refused_and_the_date_kept(client, marie):
    response = client.post(
        "/agenda/prevention/grossesse/", {"action": "declare", "on": "2027-02-01"}
    )
    page = text(response)
    assert response.status_code == 200  # the form again, with its messages
    assert "pas dans le futur" in page
    assert 'value="2027-02-01"' in page


def test_a_boy_is_not_offered_a_pregnancy(client, marie, personas):
    page = text(client.get(f"/agenda/prevention/?espace={personas.child.id}"))
    assert "Déclarer la grossesse" not in page
    assert f"Prévention de {personas.child.display_name}" in page


# --- Home ---------------------------------------------------------------------------------


def test_the_home_page_says_what_is_coming(client, marie, personas):
    add_by_gp(personas, marie, day=date(2026, 12, 10), hour=9)
    add_own(marie, day=date(2026, 12, 20))

    page = text(client.get("/"))

    assert "À venir" in page
    coming = page[page.index('data-testid="prochain-rdv"') :]
    assert coming.startswith('data-testid="prochain-rdv">10 décembre 2026 à 9 h 00')
    assert re.search(r'data-testid="rappels-a-faire">\d+ rappels? à faire', page)
    assert 'data-testid="nouveaux-documents">Aucun nouveau document' in page
    assert 'data-testid="messages-non-lus">Aucun message non lu' in page


# --- The calendar feed ------------------------------------------------------------------


def create_link(client, details=False) -> str:
    data = {"action": "create"}
    if details:
        data["details"] = "1"
    response = client.post("/agenda/calendrier/", data)
    assert response.status_code == 302
    page = text(client.get(response["Location"]))
    return re.search(
        r'data-testid="lien-calendrier"[^>]*|value="([^"]+\.ics)"', page
    ) and re.search(r'value="(http[^"]+\.ics)"', page).group(1)


def test_a_calendar_link_is_shown_once_and_only_its_hash_is_kept(client, marie):
    url = create_link(client)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(patient_id=marie.id)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in text(client.get("/agenda/"))


def test_the_feed_shows_neutral_titles_unless_the_person_opts_in(client, marie):
    row = add_own(marie)
    url = create_link(client)
    path = url.split("://", 1)[1].split("/", 1)[1]
    client.logout()

    response = client.get("/" + path)

    assert response.status_code == 200
    calendar = vobject.readOne(response.content.decode())
    events = {event.uid.value: event for event in calendar.vevent_list}
    mine = events[f"rdv-{row.id}@espace-sante"]
    assert mine.summary.value == "Rendez-vous médical"
    assert not hasattr(mine, "location")
    reminders = [e for e in calendar.vevent_list if e.uid.value.startswith("rappel-")]
    assert reminders and {e.summary.value for e in reminders} == {"Rappel de prévention"}
    assert "Grain de beauté" not in response.content.decode()

    client.force_login(marie.user)
    client.post("/agenda/calendrier/", {"action": "details", "details": "1"})
    client.logout()
    detailed = vobject.readOne(client.get("/" + path).content.decode())
    mine = {e.uid.value: e for e in detailed.vevent_list}[f"rdv-{row.id}@espace-sante"]
    assert mine.summary.value == "Rendez-vous médical : Grain de beauté"
    assert mine.location.value == "3 rue des Arts, Toulouse"


def test_a_cancelled_appointment_is_cancelled_in_the_feed(client, marie):
    row = add_own(marie)
    services.cancel_appointment(actor_for_user(marie.user), marie, row.id)
    url = create_link(client)
    client.logout()
    calendar = vobject.readOne(client.get("/" + url.split("/", 3)[3]).content.decode())
    event = {e.uid.value: e for e in calendar.vevent_list}[f"rdv-{row.id}@espace-sante"]
    assert event.status.value == "CANCELLED"


def test_a_revoked_unknown_or_wrong_link_is_not_found(client, marie):
    url = create_link(client)
    path = "/" + url.split("/", 3)[3]
    feed = CalendarFeed.objects.get(patient_id=marie.id)
    assert client.get(path).status_code == 200
    assert client.get(f"/agenda/calendrier/{feed.id}/faux-secret.ics").status_code == 404
    other = "00000000-0000-4000-8000-000000000000"
    assert client.get(path.replace(str(feed.id), other)).status_code == 404

    client.post("/agenda/calendrier/", {"action": "revoke"})

    assert client.get(path).status_code == 404


def test_each_reading_of_the_feed_is_in_the_persons_history(client, marie):
    url = create_link(client)
    client.logout()
    before = AuditEntry.objects.filter(patient_id=marie.id, acting_for="calendrier").count()
    client.get("/" + url.split("/", 3)[3])
    after = AuditEntry.objects.filter(patient_id=marie.id, acting_for="calendrier")
    assert after.count() > before
    assert after.filter(object_type="agenda:appointment", action="list").exists()


def test_the_history_names_the_calendar_application(client, marie):
    from espace_sante.access import history

    url = create_link(client)
    client.logout()
    client.get("/" + url.split("/", 3)[3])
    row = AuditEntry.objects.filter(
        patient_id=marie.id, acting_for="calendrier", object_type="agenda:appointment"
    ).latest("sequence")
    items = history.describe(actor_for_user(marie.user), marie.id, [row])
    assert items[0].sentence.startswith("Votre application de calendrier a consulté votre agenda")


def test_too_many_readings_are_refused_for_an_hour(client, marie, settings):
    from espace_sante.agenda import views

    url = create_link(client)
    path = "/" + url.split("/", 3)[3]
    client.logout()
    for _ in range(views.FEED_MAX_PER_HOUR):
        client.get(path.replace(".ics", "x.ics"))  # wrong secret: counted too
    response = client.get(path)
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"


# --- More error paths ------------------------------------------------------------------


def test_a_refused_edit_keeps_what_was_typed_and_changes_nothing(client, marie):
    row = add_own(marie)
    response = client.post(
        f"/agenda/rendez-vous/{row.id}/modifier/",
        {**FORM, "time": "25:00", "reason": "Nouveau motif"},
    )
    page = text(response)
    assert response.status_code == 200  # the form again, with its messages
    assert "Indiquez une heure valide, par exemple 14:30." in page
    assert 'value="Nouveau motif"' in page and 'value="25:00"' in page
    row.refresh_from_db()
    assert row.reason == "Grain de beauté"


def test_a_cancelled_appointment_cannot_be_edited(client, marie):
    row = add_own(marie)
    services.cancel_appointment(actor_for_user(marie.user), marie, row.id)
    response = client.post(f"/agenda/rendez-vous/{row.id}/modifier/", FORM)
    assert response.status_code == 302
    assert "vous ne pouvez pas le modifier" in text(client.get(response["Location"]))
    row.refresh_from_db()
    assert row.place == "3 rue des Arts, Toulouse"


def test_marking_done_without_a_date_asks_for_one(client, marie):
    response = client.post("/agenda/prevention/fait/", {"rule": "depistage-col-hpv", "on": ""})
    assert response.status_code == 200  # the form again, with its messages
    assert "Indiquez une date." in text(response)


def test_marking_an_unknown_reminder_done_says_so(client, marie):
    response = client.post("/agenda/prevention/fait/", {"rule": "inventee", "on": "2026-11-02"})
    assert response.status_code == 200  # the form again, with its messages
    assert "Ce n'est pas enregistré : Ce rappel n&#x27;existe pas." in text(response)


def test_a_birth_before_the_pregnancy_is_refused(client, marie):
    client.post("/agenda/prevention/grossesse/", {"action": "declare", "on": "2026-10-01"})
    response = client.post("/agenda/prevention/grossesse/", {"action": "birth", "on": "2026-09-01"})
    assert response.status_code == 200  # the form again, with its messages
    assert "doit suivre le début de grossesse" in text(response)
    assert 'value="2026-09-01"' in text(response)


def test_a_parent_makes_a_calendar_link_for_their_child(client, marie, personas):
    leo = personas.child
    add_own(leo, by=marie, reason="Vaccin")
    response = client.post(f"/agenda/calendrier/?espace={leo.id}", {"action": "create"})
    assert response["Location"] == f"/agenda/?espace={leo.id}#calendrier"
    page = text(client.get(response["Location"]))
    url = re.search(r'value="(http[^"]+\.ics)"', page).group(1)
    assert CalendarFeed.objects.filter(patient_id=leo.id, revoked_at=None).count() == 1
    client.logout()
    calendar = vobject.readOne(client.get("/" + url.split("/", 3)[3]).content.decode())
    assert {e.summary.value for e in calendar.vevent_list} >= {"Rendez-vous médical"}


def test_a_new_link_stops_the_previous_one(client, marie):
    first = "/" + create_link(client).split("/", 3)[3]
    second = "/" + create_link(client).split("/", 3)[3]
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_only_the_persons_side_makes_calendar_links(personas):
    with pytest.raises(services.NotAllowed):
        services.create_feed(pro_actor(personas.gp), personas.mother)
    assert not CalendarFeed.objects.exists()
    assert AuditEntry.objects.filter(
        patient_id=personas.mother.id, object_type="agenda:feed", outcome="denied"
    ).exists()


def test_the_bilan_reminder_leads_to_its_questionnaire(client, personas):
    # prevention.md: Mon bilan prévention between 70 and 75; the demo's Jean is 72.
    client.force_login(personas.elder.user)
    page = text(client.get("/agenda/prevention/"))
    assert "Préparer le bilan avec le questionnaire Mon bilan prévention" in page
    assert 'href="/agenda/bilan-prevention/"' in client.get("/agenda/prevention/").content.decode()


def test_the_link_of_a_closed_space_serves_nothing(client, marie):
    from espace_sante.identity.models import Person, SpaceState

    url = create_link(client)
    path = "/" + url.split("/", 3)[3]
    assert client.get(path).status_code == 200
    Person.objects.filter(pk=marie.pk).update(space_state=SpaceState.CLOSED)
    assert client.get(path).status_code == 404
