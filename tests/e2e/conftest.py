"""Browser tests: a real Chromium (Debian's, never a downloaded one) drives the live server.

Playwright's sync API runs an event loop in the main thread, which Django would
otherwise take for an async context and refuse database access from it.
"""

import os
import time
from pathlib import Path

import pyotp
import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
# Without these flags Chromium waits on the network this machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


LOGIN = "/comptes/login/"
CODE = "/comptes/login/code/confirm/"
TOTP = "/comptes/2fa/authenticate/"

# Enough for a page of this site on a slow, shared machine; not more.
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    ours = [item for item in items if here in item.path.parents]
    for item in ours:
        item.add_marker(pytest.mark.browser)
    if not CHROMIUM.exists():
        skip = pytest.mark.skip(
            reason=f"Tests navigateur ignorés : Chromium est absent ({CHROMIUM}). "
            "Installez le paquet Debian « chromium »."
        )
        for item in ours:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache(transactional_db):
    """The database cache outlives the per-test flush; start each test without
    rate-limit counters or "TOTP code already used" marks from the previous one."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A fresh page in its own browser context (no cookies from another test)."""
    return context.new_page()


@pytest.fixture
def console_errors(page) -> list[str]:
    """What the browser reported as errors on `page`: failed loads, CSP violations,
    uncaught JavaScript exceptions. A test asserts it stays empty."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(f"JavaScript : {error}"))
    return errors


@pytest.fixture
def base_url(live_server) -> str:
    """The relying party, and the only host most tests use."""
    return live_server.url.replace("://localhost:", "://127.0.0.1:")


def sign_in_with_password(
    page, base_url: str, email: str, password: str, *, goto: bool = True
) -> None:
    """Fill in and send the sign-in form (opened first unless goto=False)."""
    if goto:
        page.goto(base_url + LOGIN)
    page.get_by_label("Identifiant (adresse électronique)").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter", exact=True).click()


def sign_in_citizen(page, base_url: str, email: str, password: str, smtp_server) -> None:
    """Password, then the code read from the real SMTP server; ends on the home page."""
    sign_in_with_password(page, base_url, email, password)
    page.wait_for_url(base_url + CODE)
    page.get_by_label("Code").fill(smtp_server.code_for(email))
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(base_url + "/")


def totp_now(secret: str) -> str:
    """The current TOTP code, never one about to expire: allauth accepts only the
    code of the current 30-second period."""
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < 3:
        time.sleep(left + 0.1)
    return totp.now()


def enter_totp(page, base_url: str, secret: str) -> None:
    """On the TOTP page: type the current code; ends on the home page."""
    page.get_by_label("Code").fill(totp_now(secret))
    page.get_by_role("button", name="Connexion", exact=True).click()
    page.wait_for_url(base_url + "/")


def wrong_code(right: str) -> str:
    """A well-formed code that is not the right one."""
    return "000000" if right != "000000" else "111111"
