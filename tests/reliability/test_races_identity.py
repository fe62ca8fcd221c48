"""Twenty wrong passwords at once on one account: at most LOGIN_MAX_FAILURES are checked.

The parallel emailed-code and TOTP guesses are in tests/identity/test_signin_lock.py;
this is the first factor, through the sign-in page as a person (or a robot) uses it.
"""

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.test import Client

from .parallel import ON_POSTGRES, race_of

pytestmark = [ON_POSTGRES, pytest.mark.django_db(transaction=True)]

LOGIN = "/comptes/login/"
LOCKED = "Trop de tentatives"


def test_twenty_wrong_passwords_at_once_check_at_most_five(personas, settings, monkeypatch):
    cache.clear()  # the cache table outlives a transactional test's flush
    email = personas.mother.user.email
    checked = []
    original = AbstractBaseUser.check_password

    def counting_check_password(self, raw_password):
        checked.append(raw_password)
        return original(self, raw_password)

    monkeypatch.setattr(AbstractBaseUser, "check_password", counting_check_password)
    race = race_of(
        lambda index: Client().post(LOGIN, {"login": email, "password": f"mauvais-{index}"})
    )
    bodies = [response.content.decode() for response in race.results]
    locked = sum(LOCKED in body for body in bodies)
    race.report(
        "mots de passe erronés",
        kind=lambda response: {200: "refusé ou bloqué", 429: "429 trop de demandes"}.get(
            response.status_code, str(response.status_code)
        ),
        bloques=locked,
        verifies=len(set(checked)),
        limite=settings.LOGIN_MAX_FAILURES,
    )
    assert race.errors == []
    # Each password is compared once per authentication backend: count distinct guesses.
    assert 1 <= len(set(checked)) <= settings.LOGIN_MAX_FAILURES
    # Every caller is told in French: wrong password, locked, or (when the lock's own
    # bookkeeping is too busy, allauth's 429) « Trop de tentatives… » too.
    wrong = "L’adresse e-mail ou le mot de passe sont incorrects."
    assert all(LOCKED in body or wrong in body for body in bodies), bodies
    assert locked >= 1
    # Locked now: even the right password is refused.
    right = Client().post(LOGIN, {"login": email, "password": personas.password})
    assert right.status_code == 200 and LOCKED in right.content.decode()
    cache.clear()
