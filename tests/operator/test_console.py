"""The operator console: counts, rates, letters, import reports; nobody else gets in."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Campaign
from espace_sante.identity.models import User
from tests.enrollment.support import csv_lines, person_row
from tests.signin import OPERATOR_TOTP_SECRET, sign_in_with_totp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(client):
    password = "Console-operateur-2026"
    user = User.objects.create_user("operateur@exemple.test", password, kind=User.Kind.OPERATOR)
    sign_in_with_totp(client, user, password, OPERATOR_TOTP_SECRET)
    return user


def test_an_operator_with_a_password_alone_is_sent_to_set_up_totp(client):
    user = User.objects.create_user("nouvel.operateur@exemple.test", "x", kind=User.Kind.OPERATOR)
    client.force_login(user)
    response = client.get("/operateur/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.fixture
def campaign(db):
    return services.create_campaign("Haute-Garonne 2026", "31", timezone.localdate())


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)


def test_an_operator_uploads_a_file_sends_invitations_and_downloads_letters(
    client, operator, campaign, smtp_server
):
    rows = [person_row(1), person_row(2, email=False), person_row(3, sexe="X")]
    upload = SimpleUploadedFile("beneficiaires.csv", "".join(csv_lines(rows)).encode())
    url = f"/operateur/campagnes/{campaign.pk}/"
    response = client.post(url + "import/", {"file": upload})
    assert response["Location"] == url
    run_worker()
    page = client.get(url).content.decode()
    assert "beneficiaires.csv" in page and "rapport (CSV)" in page
    report = campaign.imports.get()
    assert (report.imported, report.refused) == (2, 1)
    csv_report = client.get(f"{url}imports/{report.pk}/lignes-refusees.csv")
    assert "4;sexe;" in b"".join(csv_report.streaming_content).decode()

    client.post(url + "invitations/")
    run_worker()
    smtp_server.wait_for("personne1@exemple.test")
    batch = campaign.letter_batches.get()
    pdf = client.get(f"{url}courriers/{batch.pk}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    counts = services.campaign_counts(campaign)
    assert counts["total"] == 2
    assert dict((v, n) for v, _, n in counts["deliveries"])["letter_printed"] == 1
    listing = client.get("/operateur/").content.decode()
    assert "Haute-Garonne 2026" in listing
    assert "<td>2</td>" in listing  # two people in the campaign
    # Names of people never appear on the console.
    assert "NOM1" not in page + listing


def test_an_operator_creates_a_campaign_with_the_default_delay(client, operator):
    response = client.post(
        "/operateur/",
        {"name": "Gers", "department": "32", "start_date": "2026-12-01", "objection_days": "42"},
    )
    assert response.status_code == 302
    assert Campaign.objects.get(name="Gers").objection_days == 42
    page = client.post(
        "/operateur/",
        {"name": "Gers", "department": "99", "start_date": "2026-12-01", "objection_days": "42"},
    ).content.decode()
    assert "département" in page.lower()


def test_citizens_and_professionals_get_404(client, personas, campaign):
    client.force_login(personas.mother.user)
    for url in ("/operateur/", f"/operateur/campagnes/{campaign.pk}/"):
        assert client.get(url).status_code == 404


def test_an_operator_suspends_then_resumes_a_space_and_the_person_is_told(
    client, operator, personas, smtp_server
):
    marie = personas.mother
    found = client.post("/operateur/personnes/", {"nir": marie.ins_matricule}, follow=True)
    page = found.content.decode()
    assert "Activé" in page and "Suspendre l'accès" in page
    url = f"/operateur/personnes/{marie.pk}/"
    # issue 18, item 9: the NIR travels in the body, never in an address (access logs).
    assert [location for location, _ in found.redirect_chain] == [url]
    assert "Indiquez le motif" in client.post(url + "suspendre/", follow=True).content.decode()
    client.post(url + "suspendre/", {"reason": "fraude signalée"})
    marie.refresh_from_db()
    assert marie.space_state == "suspended" and not marie.user.is_active
    run_worker()
    assert "suspendu" in smtp_server.body(smtp_server.wait_for(marie.email))
    page = client.post(url + "reprendre/", {"reason": "levée"}, follow=True).content.decode()
    marie.refresh_from_db()
    assert marie.space_state == "activated" and marie.user.is_active
    assert "fraude signalée" in page
    # An action the machine refuses is explained.
    page = client.post(url + "reprendre/", {"reason": "encore"}, follow=True).content.decode()
    assert "pas possible dans l&#x27;état actuel" in page


def test_an_unknown_nir_finds_nobody_and_stays_in_the_form(client, operator):
    nir = person_row(999)["nir"]
    response = client.post("/operateur/personnes/", {"nir": nir})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Aucune personne ne correspond" in page
    assert f'value="{nir}"' in page


def test_the_operator_home_is_the_console_with_its_menu(client, operator):
    response = client.get("/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/operateur/"
    assert "n'est rattaché à aucun espace" not in page
    assert 'aria-label="Menu principal"' in page
    assert "Rechercher une personne" in page


def test_an_operators_attempt_on_a_document_is_refused_and_traced_as_theirs(
    client, operator, personas
):
    from espace_sante.access.models import AuditEntry
    from espace_sante.access.policy import actor_for_user
    from espace_sante.record.documents import services as record
    from tests.record.conftest import make_pdf

    marie = personas.mother
    document = record.add_document(
        actor_for_user(marie.user),
        marie,
        SimpleUploadedFile("b.pdf", make_pdf()),
        record.NewDocument(title="Bilan sanguin", type_code="DOCPAT05", source="patient"),
    )
    response = client.get(f"/documents/{document.id}/")
    assert response.status_code == 404
    assert "Bilan sanguin" not in response.content.decode()
    refused = AuditEntry.objects.get(patient_id=marie.id, outcome="denied")
    # access.md: every attempt is traced with who made it — an operator, not "anonymous".
    assert refused.actor_kind == "operator"
    assert str(refused.actor_user_id) == str(operator.pk)
