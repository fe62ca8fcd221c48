"""The README's promise: the demo command gives a client, the example script pushes a PDF,
and Marie Durand finds it in her Documents."""

import json
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

from espace_sante.access.policy import actor_for_user
from espace_sante.record.documents import services as record

ROOT = Path(__file__).resolve().parents[2]


def test_demo_clients_then_example_script(live_server, personas, settings, tmp_path):
    settings.SITE_URL = live_server.url
    call_command("fhir_demo_clients", verbosity=0)
    config_path = tmp_path / "fhir-clients" / "310001235.json"
    config = json.loads(config_path.read_text())
    assert config["professional_rpps"] == personas.gp.rpps
    key_file = Path(config["private_key_file"])
    assert key_file.stat().st_mode & 0o777 == 0o600
    # Running it again keeps the same client and key.
    call_command("fhir_demo_clients", verbosity=0)
    assert json.loads(config_path.read_text())["client_id"] == config["client_id"]

    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            str(ROOT / "examples" / "push_document.py"),
            "--config",
            str(config_path),
            "--title",
            "Compte rendu du 29 novembre",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Document déposé" in result.stdout

    mother = actor_for_user(personas.mother.user)
    page = record.document_page(mother, personas.mother.id)
    assert [item.title for item in page.items] == ["Compte rendu du 29 novembre"]
    assert page.items[0].document.author_professional == personas.gp
