"""Signing in: citizens with password + emailed code, professionals with password + TOTP."""

import logging
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.contrib.auth.hashers import identify_hasher
from django.urls import reverse
from django.utils import timezone

from espace_sante.identity import services
from espace_sante.identity.models import User

LOGIN = "/comptes/login/"
CODE = "/comptes/login/code/confirm/"
TOTP = "/comptes/2fa/authenticate/"

pytestmark = pytest.mark.django_db


def sign_in(client, email, password):
    return client.post(LOGIN, {"login": email, "password": password})


def test_a_citizen_gets_a_code_by_email_after_the_password_and_then_her_home(
    client, personas, smtp_server
):
    email = personas.mother.user.email
    response = sign_in(client, email, personas.password)
    assert response.status_code == 302 and response["Location"] == CODE
    # Not signed in yet: the password alone opens nothing.
    assert client.get("/").status_code == 302

    message = smtp_server.wait_for(email)
    assert message["Subject"].endswith("Votre code de connexion")
    code = smtp_server.code_for(email)
    response = client.post(CODE, {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:home")
    assert "Bonjour Marie" in response.content.decode()


def test_a_code_serves_once_and_a_new_sign_in_sends_a_new_one(client, personas, smtp_server):
    email = personas.mother.user.email
    sign_in(client, email, personas.password)
    first = smtp_server.code_for(email)
    client.post(CODE, {"code": first})
    client.post(reverse("account_logout"))

    sign_in(client, email, personas.password)
    second = smtp_server.code_for(email, count=2)
    if first != second:  # one chance in a million they are equal
        response = client.post(CODE, {"code": first})
        assert response.status_code == 200
        assert "incorrect" in response.content.decode().lower()
    response = client.post(CODE, {"code": second})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_a_code_expires_after_ten_minutes(client, personas, smtp_server):
    email = personas.mother.user.email
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, email, personas.password)
        code = smtp_server.code_for(email)
        traveller.shift(timedelta(minutes=10, seconds=5))
        response = client.post(CODE, {"code": code}, follow=True)
    assert client.get("/").status_code == 302
    assert response.redirect_chain and response.redirect_chain[-1][0].startswith(LOGIN)


def test_three_wrong_codes_end_the_attempt(client, personas, smtp_server):
    email = personas.mother.user.email
    sign_in(client, email, personas.password)
    code = smtp_server.code_for(email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        client.post(CODE, {"code": wrong})
    response = client.post(CODE, {"code": code})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert client.get("/").status_code == 302


def test_the_code_goes_by_sms_when_the_citizen_chose_it(client, personas, smtp_server, caplog):
    user = personas.elder.user
    user.otp_channel = User.OtpChannel.SMS
    user.save()
    with caplog.at_level(logging.INFO, logger="espace_sante.sms"):
        response = sign_in(client, user.email, personas.password)
    assert response["Location"] == CODE
    sms = [r.getMessage() for r in caplog.records if r.name == "espace_sante.sms"]
    assert len(sms) == 1 and "code de connexion" in sms[0]
    code = sms[0].split("est ")[1][:6]
    assert smtp_server.to(user.email) == []
    assert client.post(CODE, {"code": code})["Location"] == reverse("web:home")


def test_repeated_wrong_passwords_lock_the_account_for_a_while(client, personas, settings):
    email = personas.mother.user.email
    for _ in range(settings.LOGIN_MAX_FAILURES):
        response = sign_in(client, email, "mauvais-mot-de-passe")
        assert response.status_code == 200
    response = sign_in(client, email, personas.password)
    assert response.status_code == 200  # even the right password is refused now
    assert "Trop de tentatives" in response.content.decode()


def test_an_idle_session_ends_after_fifteen_minutes(client, personas):
    client.force_login(personas.mother.user)
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert client.get("/").status_code == 200  # activity extends the session
    with time_machine.travel(timezone.now() + timedelta(minutes=28), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=44), tick=False):
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_professional_needs_a_valid_totp_code_after_the_password(client, personas):
    user = personas.gp.user
    response = sign_in(client, user.email, personas.password)
    assert response["Location"] == TOTP
    assert client.get("/").status_code == 302

    response = client.post(TOTP, {"code": "000000"})
    assert response.status_code == 200
    assert client.get("/").status_code == 302

    response = client.post(TOTP, {"code": pyotp.TOTP(personas.totp_secret).now()}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:home")
    assert "Portail professionnel" in response.content.decode()


@pytest.mark.django_db(transaction=True)  # allauth records the TOTP on commit, in the view
def test_a_professional_without_totp_must_set_it_up_before_anything_else(client, personas):
    pro = services.create_professional(
        rpps="10005678908", profession="60", first_name="Inès", last_name="Roux"
    )
    services.open_account(pro, "ines.roux@demo.example", personas.password)
    response = sign_in(client, "ines.roux@demo.example", personas.password)
    assert response["Location"] == reverse("web:home")
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    assert client.get("/espace/patients/")["Location"] == reverse("mfa_activate_totp")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # now the portal opens


def test_nobody_signs_up_here(client):
    response = client.get("/comptes/signup/")
    assert response.status_code == 200
    assert User.objects.count() == 0
    response = client.post(
        "/comptes/signup/", {"email": "a@b.example", "password1": "x" * 20, "password2": "x" * 20}
    )
    assert User.objects.count() == 0


def test_passwords_are_hashed_with_argon2(personas):
    assert identify_hasher(personas.mother.user.password).algorithm == "argon2"


def signed_in_professional(client, personas):
    user = personas.gp.user
    sign_in(client, user.email, personas.password)
    client.post(TOTP, {"code": pyotp.TOTP(personas.totp_secret).now()})
    assert client.get("/").status_code == 200
    return user


def test_a_professional_cannot_switch_off_his_totp(client, personas):
    from allauth.mfa.models import Authenticator

    user = signed_in_professional(client, personas)
    # Changing 2FA settings asks for the password again (allauth's reauthentication).
    client.post(reverse("account_reauthenticate"), {"password": personas.password})
    response = client.post(reverse("mfa_deactivate_totp"))
    assert "La double authentification est obligatoire pour les professionnels" in (
        response.content.decode()
    )
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get("/").status_code == 200


def test_a_professional_whose_totp_is_removed_stops_working_at_once(client, personas):
    from allauth.mfa.models import Authenticator

    user = signed_in_professional(client, personas)
    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    response = client.get("/pro/patients/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


def test_the_code_page_says_where_the_code_went_once_and_how_long_it_lasts(
    client, personas, smtp_server
):
    email = personas.mother.user.email
    sign_in(client, email, personas.password)
    page = client.get(CODE).content.decode()
    assert page.count(email) == 1  # said once, not in a notice and again in the text
    assert "Il est valable 10 minutes" in page  # LOGIN_CODE_TIMEOUT, 600 s by default
    assert "Recevoir un nouveau code" in page


def test_a_new_code_replaces_the_first_and_the_first_no_longer_works(client, personas, smtp_server):
    email = personas.mother.user.email
    sign_in(client, email, personas.password)
    first = smtp_server.code_for(email)
    client.post(CODE, {"action": "resend"})
    second = smtp_server.code_for(email, count=2)
    assert second != first
    assert client.post(CODE, {"code": first}).status_code == 200  # refused, the form again
    response = client.post(CODE, {"code": second}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:home")
