"""One lock per account: wrong passwords, wrong emailed codes and wrong TOTP codes add up.

Five failures of any kind (LOGIN_MAX_FAILURES) lock the account for fifteen
minutes (LOGIN_LOCKOUT_SECONDS): even the right password and the right code are
refused meanwhile, with « Trop de tentatives… ».
"""

import threading
from datetime import timedelta

import pyotp
import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP as TOTPAuthenticator
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

LOGIN = "/comptes/login/"
CODE = "/comptes/login/code/confirm/"
TOTP = "/comptes/2fa/authenticate/"
LOCKED = "Trop de tentatives"
POSTGRES = connection.vendor == "postgresql"

pytestmark = pytest.mark.django_db


def sign_in(client, email, password):
    return client.post(LOGIN, {"login": email, "password": password})


def wrong_code_besides(*codes: str) -> str:
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in codes)


def wrong_totp(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    near = [totp.at(now + timedelta(seconds=delta)) for delta in (-60, -30, 0, 30, 60)]
    return wrong_code_besides(*near)


def test_wrong_emailed_codes_across_rounds_lock_the_account(
    client, personas, smtp_server, settings
):
    email = personas.mother.user.email
    assert settings.LOGIN_MAX_FAILURES == 5
    with time_machine.travel(
        timezone.now()
    ) as traveller:  # ticking: the counts need distinct instants
        # Round 1: three wrong codes end the round (3 failures counted).
        assert sign_in(client, email, personas.password)["Location"] == CODE
        code = smtp_server.code_for(email, count=1)
        for _ in range(3):
            client.post(CODE, {"code": wrong_code_besides(code)})
        client.get(LOGIN)  # shows (and so drops) the end-of-round message
        # Round 2: the password still opens the code stage; two wrong codes
        # make five failures.
        assert sign_in(client, email, personas.password)["Location"] == CODE
        code = smtp_server.code_for(email, count=2)
        for _ in range(2):
            response = client.post(CODE, {"code": wrong_code_besides(code)})
            assert response.status_code == 200 and LOCKED not in response.content.decode()
        # Locked: the right code of this round is refused…
        response = client.post(CODE, {"code": code}, follow=True)
        assert LOCKED in response.content.decode()
        assert client.get("/").status_code == 302
        # … and so is the right password.
        response = sign_in(client, email, personas.password)
        assert response.status_code == 200 and LOCKED in response.content.decode()
        assert len(smtp_server.to(email)) == 2  # no new code was sent

        # Fifteen minutes later, the right password and code sign her in.
        traveller.shift(timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS + 1))
        assert sign_in(client, email, personas.password)["Location"] == CODE
        code = smtp_server.code_for(email, count=3)
        response = client.post(CODE, {"code": code})
        assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_wrong_passwords_and_wrong_codes_add_up(client, personas, smtp_server):
    email = personas.mother.user.email
    for _ in range(2):
        sign_in(client, email, "mauvais-mot-de-passe")
    sign_in(client, email, personas.password)
    code = smtp_server.code_for(email)
    for _ in range(3):
        client.post(CODE, {"code": wrong_code_besides(code)})
    response = sign_in(client, email, personas.password)
    assert response.status_code == 200 and LOCKED in response.content.decode()


def test_a_right_code_takes_nothing_from_the_allowance(client, personas, smtp_server, settings):
    email = personas.mother.user.email
    for round_number in range(1, settings.LOGIN_MAX_FAILURES + 2):
        assert sign_in(client, email, personas.password)["Location"] == CODE
        code = smtp_server.code_for(email, count=round_number)
        assert client.post(CODE, {"code": code})["Location"] == reverse("web:home")
        client.post(reverse("account_logout"))


def test_wrong_totp_codes_across_rounds_lock_the_account(client, personas, settings):
    user = personas.gp.user
    secret = personas.totp_secret
    with time_machine.travel(
        timezone.now()
    ) as traveller:  # ticking: the counts need distinct instants
        for wrong_in_round in (2, 3):
            assert sign_in(client, user.email, personas.password)["Location"] == TOTP
            for _ in range(wrong_in_round):
                response = client.post(TOTP, {"code": wrong_totp(secret)})
                assert response.status_code == 200 and LOCKED not in response.content.decode()
        # Five failures: the right TOTP code is refused…
        response = client.post(TOTP, {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 200 and LOCKED in response.content.decode()
        assert client.get("/pro/").status_code == 302
        # … and so is the right password, in a new session (this one still
        # has its pending sign-in, which the sign-in page sends back to).
        response = sign_in(Client(), user.email, personas.password)
        assert response.status_code == 200 and LOCKED in response.content.decode()

        traveller.shift(timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS + 1))
        later = Client()
        assert sign_in(later, user.email, personas.password)["Location"] == TOTP
        response = later.post(TOTP, {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 302 and response["Location"] == reverse("web:home")


@pytest.fixture
def empty_cache():
    """The cache table outlives a transactional test's flush: start and end empty."""
    cache.clear()
    yield
    cache.clear()


def _guess_in_parallel(cookie, path, codes):
    """Post each code from its own thread and client, all sharing one pending sign-in."""
    start = threading.Barrier(len(codes))
    bodies, errors = [], []

    def guess(code):
        try:
            guesser = Client()
            guesser.cookies.load({"sessionid": cookie})
            start.wait()
            bodies.append(guesser.post(path, {"code": code}).content.decode())
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return bodies


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL seulement (tentatives concurrentes)")
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_totp_guesses_evaluate_at_most_five(
    client, personas, settings, monkeypatch, empty_cache
):
    user = personas.gp.user
    evaluated = []
    original = TOTPAuthenticator.validate_code

    def counting_validate_code(self, code):
        evaluated.append(code)
        return original(self, code)

    monkeypatch.setattr(TOTPAuthenticator, "validate_code", counting_validate_code)
    assert sign_in(client, user.email, personas.password)["Location"] == TOTP
    wrong = wrong_totp(personas.totp_secret)
    bodies = _guess_in_parallel(client.cookies["sessionid"].value, TOTP, [wrong] * 20)

    # Possibly fewer than five checked: allauth waits at most a second for its cache
    # lock and refuses when it cannot take it (fail closed), which a slow machine does.
    # Guessing on, one at a time, until the lock answers never checks a sixth code.
    for _ in range(settings.LOGIN_MAX_FAILURES):
        if LOCKED in client.post(TOTP, {"code": wrong}).content.decode():
            break
    assert len(evaluated) <= settings.LOGIN_MAX_FAILURES
    assert sum(LOCKED in body for body in bodies) >= 20 - settings.LOGIN_MAX_FAILURES
    response = client.post(TOTP, {"code": pyotp.TOTP(personas.totp_secret).now()})
    assert response.status_code == 200 and LOCKED in response.content.decode()


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL seulement (tentatives concurrentes)")
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_code_guesses_evaluate_at_most_five(
    client, personas, smtp_server, settings, monkeypatch, empty_cache
):
    import allauth.account.forms

    email = personas.mother.user.email
    evaluated = []
    original = allauth.account.forms.compare_user_code

    def counting_compare_user_code(*, actual, expected):
        evaluated.append(actual)
        return original(actual=actual, expected=expected)

    monkeypatch.setattr(allauth.account.forms, "compare_user_code", counting_compare_user_code)
    assert sign_in(client, email, personas.password)["Location"] == CODE
    code = smtp_server.code_for(email)
    _guess_in_parallel(client.cookies["sessionid"].value, CODE, [wrong_code_besides(code)] * 20)

    # Possibly none checked on a slow machine (see the TOTP test above); the lock below
    # proves the guesses were counted.
    assert len(evaluated) <= settings.LOGIN_MAX_FAILURES
    response = sign_in(Client(), email, personas.password)
    assert response.status_code == 200 and LOCKED in response.content.decode()
