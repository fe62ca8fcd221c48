"""The admin signs in through the site's sign-in: password, TOTP, the per-account lock."""

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from espace_sante.identity.models import User
from tests.signin import OPERATOR_TOTP_SECRET

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
PASSWORD = "Mot-de-passe-admin-2026"


@pytest.fixture
def staff():
    from allauth.mfa.totp.internal.auth import TOTP

    user = User.objects.create_superuser("admin@espace-sante.example", PASSWORD)
    TOTP.activate(user, OPERATOR_TOTP_SECRET)
    return user


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_admin_password_form_evaluates_nothing(client, staff):
    for _ in range(8):
        response = client.post(ADMIN_LOGIN, {"username": staff.email, "password": "mauvais"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    response = client.post(ADMIN_LOGIN, {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and not signed_in(client)
    assert client.get("/admin/").status_code == 302


def test_the_admin_is_reached_only_after_password_and_totp(client, staff):
    response = client.get("/admin/identity/user/", follow=True)
    assert response.redirect_chain[-1][0] == "/comptes/login/?next=%2Fadmin%2Fidentity%2Fuser%2F"

    response = client.post(
        "/comptes/login/?next=/admin/identity/user/",
        {"login": staff.email, "password": PASSWORD, "next": "/admin/identity/user/"},
    )
    assert response["Location"].startswith("/comptes/2fa/authenticate/")
    assert client.get("/admin/").status_code == 302  # the password alone opens nothing

    response = client.post(response["Location"], {"code": pyotp.TOTP(OPERATOR_TOTP_SECRET).now()})
    assert response.status_code == 302 and response["Location"] == "/admin/identity/user/"
    response = client.get("/admin/identity/user/")
    assert response.status_code == 200 and staff.email in response.content.decode()


def test_the_admin_is_behind_the_account_lock(client, staff, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post("/comptes/login/", {"login": staff.email, "password": "mauvais"})
    response = client.post("/comptes/login/", {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 200 and "Trop de tentatives" in response.content.decode()
    assert client.get("/admin/").status_code == 302 and not signed_in(client)


def test_a_signed_in_person_who_is_not_staff_is_refused_not_looped(personas):
    client = Client()
    client.force_login(personas.mother.user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
