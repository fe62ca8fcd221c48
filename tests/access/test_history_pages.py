"""The activity history through the web door: plain French, two tabs, filters,
reports, and nobody but the titulaire."""

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from espace_sante.access import audit
from espace_sante.access.models import AccessReport, AuditEntry
from espace_sante.access.policy import Action, actor_for_user
from espace_sante.record.documents import services as documents
from tests.record.profile_support import sign_in_professional

from .audit_support import add_document, cabinet_du_parc, pro_actor, verify

pytestmark = pytest.mark.django_db

HISTORY = "/parametres/historique/"
OTHERS = HISTORY + "?onglet=professionnels"
MINE = HISTORY + "?onglet=mes-actions"
PARIS = ZoneInfo("Europe/Paris")


def text_of(response) -> str:
    """The page as a person reads it: entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def marie(client, personas):
    client.force_login(personas.mother.user)
    return personas.mother


@pytest.fixture
def bilan(personas):
    return add_document(personas, title="Bilan sanguin")


@pytest.fixture
def gp_read(personas, bilan):
    """Dr Martin, Marie's médecin traitant, opened « Bilan sanguin » on 3 March 2026, 14:05."""
    with time_machine.travel(datetime(2026, 3, 3, 14, 5, tzinfo=PARIS), tick=False):
        return audit.record(
            pro_actor(personas.gp, cabinet_du_parc()),
            Action.READ,
            personas.mother.id,
            obj=bilan,
            reason="medecin_traitant",
        )


def test_a_professional_read_reads_as_a_sentence(client, marie, gp_read):
    response = client.get(HISTORY)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert (
        "Dr Claire Martin, médecin, Cabinet médical du Parc, a consulté « Bilan sanguin » "
        "le 3 mars 2026 à 14 h 05 — accès en tant que médecin traitant"
    ) in text_of(response)
    assert "Je ne reconnais pas cet accès" in text_of(response)


def test_the_tabs_split_my_actions_from_everybody_else(client, marie, personas, bilan, gp_read):
    documents.access_document(actor_for_user(personas.mother.user), bilan.id)
    others, mine = text_of(client.get(OTHERS)), text_of(client.get(MINE))
    assert "Dr Claire Martin" in others
    assert "Vous avez consulté « Bilan sanguin »" not in others
    assert "Vous avez consulté « Bilan sanguin »" in mine
    assert "Vous avez ajouté « Bilan sanguin »" in mine
    assert "Dr Claire Martin" not in mine
    # No report button on one's own actions.
    assert "Je ne reconnais pas cet accès" not in mine


@pytest.mark.parametrize(
    "reason, allowed, expected",
    [
        ("consent", True, "— accès avec votre consentement"),
        ("care_team", True, "— accès au titre de l'équipe de soins"),
        ("medecin_traitant", True, "— accès en tant que médecin traitant"),
        ("emergency_samu", True, "— accès d'urgence : régulation du SAMU"),
        ("", False, "a tenté d'accéder à « Bilan sanguin »"),
        ("", False, "— accès refusé"),
    ],
)
def test_each_reason_to_access_is_said_in_french(
    client, marie, personas, bilan, reason, allowed, expected
):
    audit.record(
        pro_actor(personas.hospital_doctor),
        Action.READ,
        personas.mother.id,
        obj=bilan,
        reason=reason,
        allowed=allowed,
    )
    assert expected in text_of(client.get(OTHERS))


def test_a_bris_de_glace_shows_its_justification(client, marie, personas):
    doctor = pro_actor(personas.hospital_doctor)
    audit.record(
        doctor,
        "emergency",
        personas.mother.id,
        object_type="emergency",
        reason="emergency_btg : patiente inconsciente aux urgences",
    )
    audit.record(
        doctor, Action.LIST, personas.mother.id, object_type="document", reason="emergency_btg"
    )
    page = text_of(client.get(OTHERS))
    assert "Dr Karim Benali, médecin, a ouvert un accès d'urgence à votre dossier" in page
    assert ("a consulté la liste de vos documents le ") in page
    assert page.count("accès d'urgence (bris de glace) : patiente inconsciente aux urgences") == 2


def test_a_title_the_patient_may_not_see_reads_un_document(client, marie, personas):
    hidden = add_document(personas, title="Résultat à annoncer", invisible_patient=True)
    gone = add_document(personas, title="Brouillon supprimé")
    doctor = pro_actor(personas.gp)
    audit.record(doctor, Action.READ, personas.mother.id, obj=hidden, reason="medecin_traitant")
    audit.record(doctor, Action.READ, personas.mother.id, obj=gone, reason="medecin_traitant")
    documents.delete_document(actor_for_user(personas.mother.user), gone)
    page = text_of(client.get(OTHERS))
    assert "Résultat à annoncer" not in page and "Brouillon supprimé" not in page
    assert page.count("a consulté un document") == 2


def test_showing_titles_is_itself_traced(client, marie, personas, gp_read):
    client.get(OTHERS)
    assert AuditEntry.objects.filter(
        patient_id=personas.mother.id, action="list", object_type="history"
    ).exists()
    assert "Vous avez consulté votre historique d'activité" in text_of(client.get(MINE))


def test_filters_by_kind_and_period(client, marie, personas, gp_read):
    audit.record(
        pro_actor(personas.pharmacist), Action.LIST, personas.mother.id, object_type="document"
    )
    # gp_read is from March 2026; "today" is later.
    recent = text_of(client.get(OTHERS + "&period=7j"))
    assert "Sophie Lefèvre" in recent and "Claire Martin" not in recent
    denied = text_of(client.get(OTHERS + "&kind=refus"))
    assert "Aucune entrée ne correspond à vos filtres" in denied
    reads = text_of(client.get(OTHERS + "&kind=consultations"))
    assert "Claire Martin" in reads and "Sophie Lefèvre" in reads


def test_the_history_is_paginated_newest_first(client, marie, personas):
    for minutes in range(25):
        with time_machine.travel(datetime(2026, 1, 1, 8, minutes, tzinfo=PARIS), tick=False):
            audit.record(
                pro_actor(personas.gp),
                Action.LIST,
                personas.mother.id,
                object_type="document",
                reason="medecin_traitant",
            )
    first = text_of(client.get(OTHERS))
    assert "25 entrées" in first
    assert "le 1er janvier 2026 à 8 h 24" in first and "à 8 h 04 " not in first
    second = text_of(client.get(OTHERS + "&page=2"))
    assert "à 8 h 04 " in second and "à 8 h 24" not in second


def test_a_page_costs_the_same_number_of_queries_for_3_or_20_entries(client, marie, personas):
    doctors = [personas.gp, personas.hospital_doctor, personas.pharmacist, personas.biologist]

    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(OTHERS).status_code == 200
        return len(context.captured_queries)

    for doctor in doctors[:3]:
        audit.record(
            pro_actor(doctor, cabinet_du_parc()),
            Action.READ,
            personas.mother.id,
            obj=add_document(personas),
            reason="consent",
        )
    few = queries_for_a_page()
    for number in range(17):
        audit.record(
            pro_actor(doctors[number % 4]),
            Action.READ,
            personas.mother.id,
            obj=add_document(personas),
            reason="consent",
        )
    assert queries_for_a_page() <= few + 1  # +1: the tab's first visit traces the titles


def test_reporting_an_access_records_a_report_for_operators(client, marie, personas, gp_read):
    url = f"{HISTORY}{gp_read.id}/signaler/"
    form = client.get(url)
    assert "Dr Claire Martin, médecin, Cabinet médical du Parc, a consulté" in text_of(form)
    response = client.post(url, {"comment": "Je n'ai pas vu ce médecin ce jour-là."}, follow=True)
    assert "Votre signalement est enregistré" in text_of(response)
    report = AccessReport.objects.get()
    assert (report.patient, report.entry, report.status) == (
        personas.mother,
        gp_read,
        AccessReport.Status.NEW,
    )
    assert report.comment == "Je n'ai pas vu ce médecin ce jour-là."
    # The report is itself in the trail, and the entry no longer offers the button.
    traced = AuditEntry.objects.get(patient_id=personas.mother.id, action="report")
    assert traced.object_id == report.id
    page = text_of(client.get(OTHERS))
    assert "Vous avez signalé cet accès le" in page
    # A second report of the same entry adds nothing.
    client.post(url, {"comment": ""})
    assert AccessReport.objects.count() == 1
    assert verify(personas.mother)[0]


def test_one_cannot_report_one_own_action(client, marie, personas, bilan):
    mine = AuditEntry.objects.get(patient_id=personas.mother.id, action="create")
    assert client.post(f"{HISTORY}{mine.id}/signaler/").status_code == 404
    assert not AccessReport.objects.exists()


def test_another_citizen_gets_404_and_never_sees_the_entries(client, personas, gp_read):
    client.force_login(personas.elder.user)
    url = f"{HISTORY}{gp_read.id}/signaler/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"comment": "x"}).status_code == 404
    assert not AccessReport.objects.exists()
    own = text_of(client.get(OTHERS))
    assert "Claire Martin" not in own and "Bilan sanguin" not in own


def test_professionals_and_anonymous_visitors_do_not_get_a_history(client, personas, gp_read):
    assert client.get(HISTORY)["Location"].startswith("/comptes/login/")
    sign_in_professional(client, personas.gp.user)
    assert client.get(HISTORY).status_code == 404
    assert client.get(f"{HISTORY}{gp_read.id}/signaler/").status_code == 404
    assert client.get("/parametres/notifications/").status_code == 404


def test_parametres_has_an_index_and_the_menu_leads_to_it(client, marie):
    home = client.get("/").content.decode()
    assert 'href="/parametres/"' in home
    page = text_of(client.get("/parametres/"))
    assert "Historique des accès" in page and "Notifications" in page


def test_sign_ins_appear_in_my_actions(client, marie, personas):
    audit.record(
        actor_for_user(personas.mother.user),
        "sign_in",
        personas.mother.id,
        object_type="account",
        mode="titulaire",
    )
    assert "Connexion à votre espace le" in text_of(client.get(MINE + "&kind=connexions"))


def test_old_entries_are_kept_out_of_the_period(client, marie, personas):
    with time_machine.travel(datetime.now(PARIS) - timedelta(days=40), tick=False):
        audit.record(
            pro_actor(personas.gp),
            Action.LIST,
            personas.mother.id,
            object_type="document",
            reason="medecin_traitant",
        )
    assert "Claire Martin" not in text_of(client.get(OTHERS + "&period=1m"))
    assert "Claire Martin" in text_of(client.get(OTHERS + "&period=3m"))


SERVICE = HISTORY + "?onglet=traitements-automatiques"


def test_the_services_own_work_has_its_tab_and_never_buries_a_persons_access(
    client, marie, gp_read
):
    # issue 18, item 7: Jean's 85 automatic lines hid an emergency access.
    from espace_sante.access.policy import SYSTEM

    for _ in range(30):
        audit.record(SYSTEM, Action.LIST, marie.id)
    others = text_of(client.get(OTHERS))
    assert "Dr Claire Martin" in others
    assert "1 entrée" in others
    assert "traitement automatique" not in others
    service = client.get(SERVICE)
    assert "30 entrées" in text_of(service)
    # Nobody to report: the button is for a person's or an app's access.
    assert "Je ne reconnais pas cet accès" not in service.content.decode()
    system_entry = AuditEntry.objects.filter(patient_id=marie.id, actor_kind="system").first()
    assert client.get(f"{HISTORY}{system_entry.id}/signaler/").status_code == 404
    assert "Je ne reconnais pas cet accès" in client.get(OTHERS).content.decode()
