"""Done means: the example software pushes a PDF, and Marie Durand sees it in her browser."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from .test_documents import open_documents

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def test_le_logiciel_du_medecin_depose_et_marie_le_voit(
    page, base_url, personas, smtp_server, settings, tmp_path, console_errors
):
    settings.SITE_URL = base_url
    call_command("fhir_demo_clients", verbosity=0)
    config = tmp_path / "fhir-clients" / "310001235.json"
    assert json.loads(config.read_text())["fhir_base"] == f"{base_url}/fhir/R4"
    pushed = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            str(ROOT / "examples" / "push_document.py"),
            "--config",
            str(config),
            "--title",
            "Compte rendu de consultation du Dr Martin",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr

    open_documents(page, base_url, personas, smtp_server)
    link = page.get_by_role("link", name="Compte rendu de consultation du Dr Martin")
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Compte rendu de consultation du Dr Martin"
    )
    # Her history tells who added it, and through which software.
    page.goto(base_url + "/parametres/historique/")
    expect(
        page.get_by_text("Claire Martin", exact=False)
        .filter(has_text="par le logiciel Logiciel de démonstration")
        .filter(has_text="ajouté")
        .first
    ).to_be_visible()
    assert console_errors == []
