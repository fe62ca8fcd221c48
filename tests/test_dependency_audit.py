"""The offline dependency audit (scripts/audit_deps.py) against an OSV export we write here.

Each advisory below follows the OSV schema (https://ossf.github.io/osv-schema/):
``introduced`` is inclusive, ``fixed`` exclusive, ``last_affected`` inclusive, a
``versions`` list names affected releases, ``withdrawn`` retracts an advisory.
The expected findings follow from those rules, not from the script.
"""

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "audit_deps.py"

LOCK = """\
Django==5.2.19
PyJWT==2.15.1
pypdf==7.1.0
requests==2.34.2
"""


def advisory(id_, name, *, ranges=(), versions=(), ecosystem="PyPI", **extra):
    return {
        "id": id_,
        "summary": f"Avis {id_}",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": list(r)} for r in ranges],
                "versions": list(versions),
            }
        ],
        **extra,
    }


ADVISORIES = [
    # Affected: inside [5.0, 5.2.20).
    advisory("TEST-1", "django", ranges=[[{"introduced": "5.0"}, {"fixed": "5.2.20"}]]),
    # Not affected: fixed in exactly the pinned version.
    advisory("TEST-2", "Django", ranges=[[{"introduced": "0"}, {"fixed": "5.2.19"}]]),
    # Affected: the pinned version is the last affected one (name spelled otherwise).
    advisory("TEST-3", "pyjwt", ranges=[[{"introduced": "2.0"}, {"last_affected": "2.15.1"}]]),
    # Affected: listed by name in ``versions`` only.
    advisory("TEST-4", "pypdf", versions=["7.0.0", "7.1.0"]),
    # Not affected: withdrawn.
    advisory(
        "TEST-5",
        "requests",
        ranges=[[{"introduced": "0"}]],
        withdrawn="2026-01-01T00:00:00Z",
    ),
    # Not affected: another ecosystem's package of the same name.
    advisory("TEST-6", "requests", ranges=[[{"introduced": "0"}]], ecosystem="npm"),
    # Not affected: introduced after the pinned version.
    advisory("TEST-7", "requests", ranges=[[{"introduced": "3.0"}, {"fixed": "3.1"}]]),
]


def osv_zip(path: Path, advisories=ADVISORIES) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for item in advisories:
            archive.writestr(f"{item['id']}.json", json.dumps(item))
    return path


def run(*args, cwd: Path):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "requirements.lock").write_text(LOCK)
    return tmp_path


def test_the_audit_names_exactly_the_affected_pins_and_fails(workdir):
    source = osv_zip(workdir / "all.zip")
    base = workdir / "base"
    refreshed = run("--dir", str(base), "refresh", "--from", str(source), cwd=workdir)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "7 avis" in refreshed.stdout

    result = run(
        "--dir", str(base), "check", "--lock", str(workdir / "requirements.lock"), cwd=workdir
    )
    assert result.returncode == 1
    found = {
        line.split(" : ")[1].split()[0] for line in result.stdout.splitlines() if " : " in line
    }
    assert found == {"TEST-1", "TEST-3", "TEST-4"}
    assert "4 paquets épinglés audités, 3 vulnérabilité(s)" in result.stdout


def test_a_clean_lock_passes(workdir):
    base = workdir / "base"
    run("--dir", str(base), "refresh", "--from", str(osv_zip(workdir / "a.zip", [])), cwd=workdir)
    result = run(
        "--dir", str(base), "check", "--lock", str(workdir / "requirements.lock"), cwd=workdir
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_a_database_or_with_an_old_one_the_audit_refuses_to_say_all_is_well(workdir):
    base = workdir / "base"
    missing = run("--dir", str(base), "check", cwd=workdir)
    assert missing.returncode == 2
    assert "Pas de base de vulnérabilités" in missing.stderr

    run("--dir", str(base), "refresh", "--from", str(osv_zip(workdir / "a.zip", [])), cwd=workdir)
    database = base / "osv-scanner" / "PyPI" / "all.zip"
    month_ago = time.time() - 30 * 86400
    os.utime(database, (month_ago, month_ago))
    old = run("--dir", str(base), "check", cwd=workdir)
    assert old.returncode == 2
    assert "date de 30 jours" in old.stderr


def test_a_bad_download_keeps_the_previous_database(workdir):
    base = workdir / "base"
    run("--dir", str(base), "refresh", "--from", str(osv_zip(workdir / "a.zip")), cwd=workdir)
    broken = workdir / "broken.zip"
    broken.write_bytes(b"not a zip")
    result = run("--dir", str(base), "refresh", "--from", str(broken), cwd=workdir)
    assert result.returncode == 2
    assert "n'est pas une base OSV lisible" in result.stderr
    with zipfile.ZipFile(base / "osv-scanner" / "PyPI" / "all.zip") as archive:
        assert len(archive.namelist()) == len(ADVISORIES)
    assert list((base / "osv-scanner" / "PyPI").iterdir()) == [
        base / "osv-scanner" / "PyPI" / "all.zip"
    ]


def test_the_project_lock_is_read_whole():
    # Every pinned line of the real lock is audited (none skipped by the parser).
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import audit_deps
    finally:
        sys.path.pop(0)
    lines = [
        line
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(audit_deps.read_lock(ROOT / "requirements.lock")) == len(lines)
