"""What every response promises: security headers, French errors, honest pages."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from espace_sante.identity.logging import mask
from espace_sante.web.models import WorkerHeartbeat
from espace_sante.web.scheduler import Scheduler

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy_and_refuse_framing(client):
    response = client.get("/comptes/login/")
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    # Features no page uses are off; passkeys stay allowed for the site itself.
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy
    assert "publickey-credentials-get=(self)" in policy


def test_session_and_csrf_cookies_are_secure_and_http_only(client, personas):
    response = client.get("/comptes/login/")
    csrf = response.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    response = client.post(
        "/comptes/login/", {"login": personas.mother.user.email, "password": personas.password}
    )
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["max-age"] == "" or int(session["max-age"]) <= 15 * 60


def test_a_form_posted_without_its_csrf_token_is_refused_in_french(personas):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/comptes/login/", {"login": personas.mother.user.email, "password": personas.password}
    )
    assert response.status_code == 403
    assert "Ce formulaire a expiré" in response.content.decode()


def test_pages_need_a_signed_in_person(client):
    for path in ("/", "/espace/documents/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/comptes/login/")


def test_sections_not_built_yet_are_not_offered(client, personas):
    # issue 18, item 10: the Catalogue waits for its pages; the Agenda has them (issue 13).
    client.force_login(personas.mother.user)
    assert client.get("/espace/agenda/")["Location"] == "/agenda/"
    assert client.get("/espace/catalogue/").status_code == 404
    home = client.get("/").content.decode()
    assert "Catalogue" not in home
    assert '<a class="fr-nav__link" href="/agenda/">Agenda</a>' in home


def test_the_citizen_home_shows_her_sections_and_her_child(client, personas):
    client.force_login(personas.mother.user)
    text = client.get("/").content.decode()
    for label in ("Documents", "Profil médical", "Messagerie", "Agenda", "Paramètres"):
        assert label in text
    assert "Léo DURAND" in text
    assert "Marie DURAND" in text  # the signed-in person in the header


def test_a_citizen_cannot_open_professional_sections(client, personas):
    client.force_login(personas.mother.user)
    assert client.get("/espace/patients/").status_code == 404


def test_an_unknown_page_is_a_french_404(client):
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok"}


def test_readyz_checks_the_database_and_says_no_worker_has_run(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "degraded",
        "database": "ok",
        "worker": "absent",
        "workers_alive": 0,
        "worker_last_heartbeat": None,
        "scheduler": "absent",
        "schedulers_alive": 0,
        "scheduler_last_heartbeat": None,
    }


# The worker opens and closes its own transactions, as in production.
@pytest.mark.django_db(transaction=True)
def test_readyz_says_when_the_worker_beat_and_when_it_fell_silent(client):
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    Scheduler([]).beat()  # the scheduler beats too (test_scheduler.py)
    ready = json.loads(client.get("/readyz").content)
    assert ready["status"] == "ok" and ready["worker"] == "ok"
    assert ready["workers_alive"] == 1
    beat = WorkerHeartbeat.objects.get()
    assert ready["worker_last_heartbeat"] == beat.beat_at.isoformat()

    # Three minutes without a beat: the worker is stuck or gone.
    WorkerHeartbeat.objects.update(beat_at=beat.beat_at - timedelta(minutes=3))
    response = client.get("/readyz")
    assert response.status_code == 200  # the web itself still serves
    silent = json.loads(response.content)
    assert silent["status"] == "degraded" and silent["worker"] == "silencieux"
    assert silent["workers_alive"] == 0


def test_identifiers_are_masked_in_logs():
    line = mask(
        "Connexion de marie.durand@demo.example (NIR 2 88 03 31 555 123 45, 06 12 34 56 78)"
    )
    assert "marie" not in line and "555" not in line and "56 78" not in line
    assert "[courriel]" in line and "[NIR]" in line and "[téléphone]" in line
    assert mask("RPPS 10001234565 lit le document") == "RPPS 10001234565 lit le document"


def test_names_never_reach_the_logs(personas, caplog):
    import logging

    from espace_sante.identity.logging import MaskIdentifiersFilter

    logger = logging.getLogger("espace_sante.test")
    logger.addFilter(MaskIdentifiersFilter())
    with caplog.at_level(logging.INFO, logger="espace_sante.test"):
        logger.info("Dossier de %s ouvert par %s", personas.mother, personas.gp)
        logger.info("Message de Dr Claire Martin pour Mme DURAND")
    text = caplog.text
    for name in ("Marie", "DURAND", "Claire", "Martin"):
        assert name not in text
    assert str(personas.mother.pk) in text
