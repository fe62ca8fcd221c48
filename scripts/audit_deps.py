"""Audit the pinned dependencies against a local copy of the OSV vulnerability database.

pip-audit asks an online service (api.osv.dev or pypi.org's per-release JSON) for
every package; neither answers on a closed network such as this project's build
machines, so it audits nothing there. This script works from OSV's own export of
PyPI advisories (``PyPI/all.zip``, the OSV schema), kept in the layout
osv-scanner uses for its offline mode, so the same copy serves both tools:

    python scripts/audit_deps.py refresh              # download it (needs the internet)
    python scripts/audit_deps.py refresh --from FILE  # or copy one brought from elsewhere
    python scripts/audit_deps.py check                # audit requirements.lock, offline

``check`` exits 0 when no pinned version is affected, 1 when one is, 2 when the
database is missing or older than ``--max-age-days`` (an old database proves
nothing). Matching follows the OSV schema: a version is affected when it is
listed in ``versions`` or falls inside an ``ECOSYSTEM`` range (``introduced``
inclusive, ``fixed`` exclusive, ``last_affected`` inclusive); withdrawn
advisories are ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
OSV_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
DEFAULT_DIR = ROOT / "var" / "advisories"


def database_path(directory: Path) -> Path:
    # osv-scanner's offline layout: OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=<directory>.
    return directory / "osv-scanner" / "PyPI" / "all.zip"


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    fixed: tuple[str, ...]
    summary: str


def read_lock(path: Path) -> dict[str, str]:
    """``name==version`` lines of a lock file, by canonical name."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" not in line:
            continue
        name, version = line.split("==", 1)
        pins[canonicalize_name(name.split("[", 1)[0])] = version.strip()
    return pins


def _parse(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def in_range(version: Version, events: list[dict]) -> bool:
    """The OSV schema's evaluation of one range's events, for an ordered ecosystem."""

    def key(event: dict) -> Version:
        value = next(iter(event.values()))
        return Version("0") if value == "0" else (_parse(value) or Version("0"))

    affected = False
    for event in sorted(events, key=key):
        if "introduced" in event:
            start = event["introduced"]
            if start == "0" or (_parse(start) or Version("0")) <= version:
                affected = True
        elif "fixed" in event:
            fixed = _parse(event["fixed"])
            if fixed is not None and version >= fixed:
                affected = False
        elif "last_affected" in event:
            last = _parse(event["last_affected"])
            if last is not None and version > last:
                affected = False
    return affected


def affects(entry: dict, version: str) -> bool:
    if version in entry.get("versions", []):
        return True
    parsed = _parse(version)
    if parsed is None:
        return False
    return any(
        in_range(parsed, rng.get("events", []))
        for rng in entry.get("ranges", [])
        if rng.get("type") == "ECOSYSTEM"
    )


def audit(pins: dict[str, str], database: Path) -> list[Finding]:
    findings: list[Finding] = []
    with zipfile.ZipFile(database) as archive:
        for name in archive.namelist():
            if not name.endswith(".json"):
                continue
            advisory = json.loads(archive.read(name))
            if advisory.get("withdrawn"):
                continue
            for entry in advisory.get("affected", []):
                package = entry.get("package", {})
                if package.get("ecosystem") != "PyPI":
                    continue
                canonical = canonicalize_name(package.get("name", ""))
                version = pins.get(canonical)
                if version is None or not affects(entry, version):
                    continue
                fixed = tuple(
                    event["fixed"]
                    for rng in entry.get("ranges", [])
                    for event in rng.get("events", [])
                    if "fixed" in event
                )
                findings.append(
                    Finding(
                        canonical,
                        version,
                        advisory.get("id", name),
                        fixed,
                        advisory.get("summary", "")[:120],
                    )
                )
    return sorted(set(findings), key=lambda f: (f.package, f.advisory))


def refresh(directory: Path, source: str | None) -> int:
    target = database_path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as part:
        try:
            if source and not source.startswith(("http://", "https://")):
                with open(source, "rb") as handle:
                    shutil.copyfileobj(handle, part)
            else:
                url = source or OSV_URL
                try:
                    # Only http(s) reaches here: anything else was read as a file path.
                    with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310
                        shutil.copyfileobj(answer, part)
                except OSError as error:
                    os.unlink(part.name)
                    print(
                        f"Téléchargement impossible depuis {url} ({error}). Sur un réseau "
                        "fermé, apportez PyPI/all.zip d'une machine connectée et lancez "
                        "« refresh --from FICHIER ».",
                        file=sys.stderr,
                    )
                    return 2
            part.flush()
            os.fsync(part.fileno())
            with zipfile.ZipFile(part.name) as archive:
                count = sum(1 for name in archive.namelist() if name.endswith(".json"))
        except (OSError, zipfile.BadZipFile) as error:
            os.unlink(part.name)
            print(f"Ce fichier n'est pas une base OSV lisible : {error}", file=sys.stderr)
            return 2
    # Replaced whole: a failed refresh leaves the previous copy in place.
    os.replace(part.name, target)
    print(f"Base OSV PyPI à jour : {count} avis dans {target}")
    return 0


def check(directory: Path, lock: Path, max_age_days: float) -> int:
    database = database_path(directory)
    if not database.exists():
        print(
            f"Pas de base de vulnérabilités dans {database} : lancez d'abord "
            "« python scripts/audit_deps.py refresh » (ou « refresh --from FICHIER »).",
            file=sys.stderr,
        )
        return 2
    age_days = (time.time() - database.stat().st_mtime) / 86400
    if age_days > max_age_days:
        print(
            f"La base de vulnérabilités date de {age_days:.0f} jours (plus de "
            f"{max_age_days:g}) : rafraîchissez-la, un audit sur une base ancienne "
            "ne prouve rien.",
            file=sys.stderr,
        )
        return 2
    pins = read_lock(lock)
    findings = audit(pins, database)
    for finding in findings:
        fixed = ", ".join(finding.fixed) or "aucune"
        print(
            f"{finding.package} {finding.version} : {finding.advisory} "
            f"(corrigé en {fixed}) {finding.summary}"
        )
    print(
        f"{len(pins)} paquets épinglés audités, {len(findings)} vulnérabilité(s) connue(s) "
        f"(base du {time.strftime('%Y-%m-%d', time.localtime(database.stat().st_mtime))})."
    )
    return 1 if findings else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="dossier de la base")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("refresh", help="télécharger ou copier la base OSV PyPI")
    fetch.add_argument("--from", dest="source", help="fichier all.zip ou adresse")
    audit_cmd = commands.add_parser("check", help="auditer le fichier de verrouillage")
    audit_cmd.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    audit_cmd.add_argument("--max-age-days", type=float, default=7)
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh(args.dir, args.source)
    return check(args.dir, args.lock, args.max_age_days)


if __name__ == "__main__":
    sys.exit(main())
