"""The first-run helpers: the demo's printout and reading the emails written to var/mail/."""

import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_last_mail_shows_the_newest_email_or_the_newest_to_one_address(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    mail.send_mail("Pour Marie", "Bonjour Marie", "es@example.test", ["marie@example.test"])
    mail.send_mail("Pour Jean", "Bonjour Jean", "es@example.test", ["jean@example.test"])

    def last(*args) -> str:
        out = io.StringIO()
        call_command("last_mail", *args, stdout=out)
        return out.getvalue()

    assert "Objet : Pour Jean" in last()
    assert "Objet : Pour Marie" in last("marie@example.test")
    with pytest.raises(CommandError, match="Aucun courriel pour personne@example.test"):
        last("personne@example.test")


def test_the_demo_prints_what_the_portal_search_needs():
    out = io.StringIO()
    call_command("demo", stdout=out)
    printed = out.getvalue()
    # Marie's INS and birth date, as a professional types them in « Mes patients ».
    assert "INS 288033155512345, né(e) le 14/03/1988" in printed
    assert "marie.durand@" in printed
