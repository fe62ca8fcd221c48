"""The public pages through Django's test client: the same rules as the services."""

import re

import pytest

from espace_sante.identity.models import Person, SpaceState

from .support import person_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def codes(imported, campaign, smtp_server):
    from espace_sante.enrollment import services

    services.send_invitation_emails(campaign)

    def code_of(serial, count=1):
        body = smtp_server.body(smtp_server.wait_for(f"personne{serial}@exemple.test", count))
        return re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b", body).group(1)

    code_of.mailbox = smtp_server
    return code_of


def identify(serial, code):
    row = person_row(serial)
    return {"code": code, "nir": row["nir"], "card_serial": row["numero_serie_carte"]}


def test_activation_in_two_steps_then_the_account_exists(client, codes):
    response = client.post("/activer/", identify(1, codes(1)))
    assert response.status_code == 302 and response["Location"] == "/activer/compte/"
    page = client.get("/activer/compte/")
    assert "Prenom1 NOM1" in page.content.decode()
    response = client.post(
        "/activer/compte/",
        {
            "email": "nouvelle@exemple.test",
            "password1": "Un-mot-de-passe-2026",
            "password2": "Un-mot-de-passe-2026",
            "otp_channel": "email",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/comptes/login/"
    person = Person.objects.get(birth_name="NOM1")
    assert person.space_state == SpaceState.ACTIVATED
    assert person.user.email == "nouvelle@exemple.test"


def test_the_second_step_needs_the_first(client):
    response = client.get("/activer/compte/")
    assert response.status_code == 302 and response["Location"] == "/activer/"


def test_a_weak_password_or_a_mismatch_is_explained(client, codes):
    client.post("/activer/", identify(1, codes(1)))
    page = client.post(
        "/activer/compte/",
        {
            "email": "x@exemple.test",
            "password1": "court",
            "password2": "autre",
            "otp_channel": "sms",
        },
    ).content.decode()
    assert "ne sont pas identiques" in page
    assert "téléphone portable pour recevoir le code par SMS" in page


def test_a_wrong_code_is_refused_with_a_french_message(client, codes):
    page = client.post("/activer/", identify(1, "AAAA-BBBB-CCCC")).content.decode()
    assert "Ces informations ne correspondent pas" in page
    page = client.post("/activer/", {**identify(1, "x"), "nir": "123"}).content.decode()
    assert "15 caractères" in page


def test_too_many_attempts_from_one_address_are_refused(client, codes, settings):
    from espace_sante.enrollment import views

    for _ in range(views.ATTEMPTS_PER_ADDRESS):
        client.post("/activer/", identify(2, "AAAA-BBBB-CCCC"))
    page = client.post("/activer/", identify(1, codes(1))).content.decode()
    assert "Trop de tentatives" in page


def test_objection_then_the_receipt(client, codes):
    page = client.post("/opposition/", identify(2, codes(2))).content.decode()
    assert "Cochez la case" in page  # the confirmation is required
    response = client.post("/opposition/", {**identify(2, codes(2)), "confirm": "on"})
    assert response["Location"] == "/opposition/enregistree/"
    assert "Aucun espace santé ne sera créé" in client.get(response["Location"]).content.decode()
    receipt = client.get("/opposition/recepisse.pdf")
    assert receipt["Content-Type"] == "application/pdf" and receipt.content.startswith(b"%PDF")
    assert Person.objects.get(birth_name="NOM2").space_state == SpaceState.OBJECTED


def test_the_receipt_is_only_for_the_session_that_objected(client):
    assert client.get("/opposition/recepisse.pdf").status_code == 404


def test_new_code_same_answer_whether_known_or_not(client, codes):
    codes(3)
    known = client.post("/nouveau-code/", identify(3, "")).content.decode()
    unknown = client.post("/nouveau-code/", identify(99, "")).content.decode()
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", known) == strip.sub("", unknown)
    assert "un nouveau code vient d&#x27;être envoyé" in known or "vient d'être envoyé" in known
    assert len(codes.mailbox.to("personne3@exemple.test")) == 2
