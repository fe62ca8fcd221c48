"""kill -9 during document ingestion, at any count. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/espace_sante_bench \\
        .venv/bin/python bench/reliability.py [--documents 10000] [--clients 6]
        [--web-workers 3] [--patients 200] [--size 8192] [--rounds N]

The scenario of tests/reliability/test_kill_during_ingestion.py (tests/reliability/
ingestion.py), on a throwaway instance (temporary ESPACE_SANTE_VAR_DIR; the database
named in DATABASE_URL is dropped and recreated: never point this at real data;
``DATABASE_URL=sqlite:///…`` works too, the file is created in the temporary folder
when the path is left empty: ``sqlite://``). `espace-sante serve` (gunicorn) and
`espace-sante worker` run in their own processes; client threads push distinct
documents over FHIR with an Idempotency-Key and send the same request again after a
lost connection; the kill schedule (task worker, gunicorn workers, the gunicorn
master) is played ``--rounds`` times (one per 1,000 documents by default). Then every
acknowledged document is read back through the API, rows and blobs are compared, the
orphan sweep runs, the audit trail is verified and the queued tasks are counted.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = Path(tempfile.mkdtemp(prefix="bench-reliability-"))
os.environ["ESPACE_SANTE_VAR_DIR"] = str(VAR)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/espace_sante_bench")
if os.environ["DATABASE_URL"] in ("sqlite://", "sqlite:///"):
    os.environ["DATABASE_URL"] = f"sqlite:///{VAR / 'db.sqlite3'}"


def prepare_database() -> str:
    url = os.environ["DATABASE_URL"]
    if not url.startswith(("postgres://", "postgresql://")):
        return f"SQLite ({url.removeprefix('sqlite:///')})"
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"PostgreSQL ({name})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--size", type=int, default=8 * 1024, help="bytes per document")
    parser.add_argument("--rounds", type=int, default=0, help="kill schedules (0: one per 1,000)")
    args = parser.parse_args()
    rounds = args.rounds or max(1, args.documents // 1000)

    engine = prepare_database()
    import django

    django.setup()
    from django.core.management import call_command

    from tests.reliability import ingestion

    began = time.monotonic()
    call_command("migrate", verbosity=0)
    setup = ingestion.prepare(args.patients)
    print(f"Base : {engine} — machine : {os.cpu_count()} cœurs — dossier : {VAR}")
    print(f"Préparation : {args.patients} patients en {time.monotonic() - began:.0f} s")
    mailbox = ingestion.Mailbox()
    service = ingestion.Service(VAR, os.environ["DATABASE_URL"], mailbox.port, args.web_workers)
    try:
        service.start_web()
        service.start_worker()
        result = ingestion.run(service, setup, args.documents, args.clients, args.size, rounds)
        findings = ingestion.check_through_api(service, setup, result, args.clients)
        drained = ingestion.wait_for_tasks(timeout=600)
    finally:
        service.stop()
        mailbox.stop()
    findings.emails = mailbox.received
    ingestion.check_store(findings, result, VAR, setup)
    print(ingestion.report(result, findings, args.clients, args.web_workers))
    if not drained:
        print("  ATTENTION : la file de tâches ne s'est pas vidée en 10 minutes")
    for line in findings.refused[:10] + findings.lost[:10] + findings.duplicates[:10]:
        print(f"  - {line}")
    print(f"Journaux du serveur et du worker : {service.logs}")


if __name__ == "__main__":
    main()
