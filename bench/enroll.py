"""Enrollment at national scale: prints figures, asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/espace_sante_bench \\
        .venv/bin/python bench/enroll.py [--lines 1000000] [--letters 2000] [--auto 20000]

On the database named by DATABASE_URL (dropped and recreated: never point it at
real data), measures:
- beneficiaries imported per second from a generated CSV of --lines lines
  (validation of every line included, COPY on PostgreSQL), and the peak memory
  of the import (tracemalloc) at 1/10 of the size and at full size: flat means
  independent of the file size;
- invitations per second: emails (to a local SMTP sink, aiosmtpd) and letters
  (WeasyPrint PDF, one page per person);
- spaces created automatically per second (keys created, transition recorded).
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")


def recreate_database() -> None:
    import environ
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("DATABASE_URL doit pointer vers une base PostgreSQL de banc d'essai.")
    config = environ.Env.db_url_config(url)
    name = config["NAME"]
    admin = psycopg.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def write_file(path: Path, lines: int, offset: int = 0) -> None:
    from espace_sante.enrollment.validators import COLUMNS

    with path.open("w", encoding="utf-8") as out:
        out.write(";".join(COLUMNS) + "\n")
        # NIR unique for i < 1,000,000 (commune + order); beyond, offsets of 1,000,000
        # change the year and month digits, so the files never share a person.
        for i in range(offset, offset + lines):
            sex = "F" if i % 2 else "M"
            birth = date(1930 + i % 90, 1 + i % 12, 1 + i % 28)
            # Unique NIR: département 31, commune and order from i.
            body = f"{'2' if sex == 'F' else '1'}{birth.year % 100:02d}{birth.month:02d}31"
            body += f"{(i // 1000) % 1000:03d}{i % 1000:03d}"
            key = 97 - int(body) % 97
            email = f"p{i}@bench.test" if i % 3 else ""
            out.write(
                f"{body}{key:02d};NOM{i};Prenom{i};{birth.isoformat()};{sex};31555;{email};;"
                f"{i} rue du Banc;31000;Toulouse;31;{100000000 + i}\n"
            )


def timed_import(campaign_name: str, path: Path, *, trace: bool = False):
    """Import ``path`` into a new campaign; with ``trace``, the peak memory (slower)."""
    from espace_sante.enrollment import services

    campaign = services.create_campaign(campaign_name, "31", date.today())  # noqa: DTZ011
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        report = services.import_beneficiaries(campaign, handle, file_name=path.name)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return campaign, report, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--auto", type=int, default=20000)
    args = parser.parse_args()
    recreate_database()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.utils import timezone

    from espace_sante.enrollment import services
    from espace_sante.enrollment.models import Beneficiary

    with tempfile.TemporaryDirectory() as tmp:
        settings.STORAGES["letters"]["OPTIONS"]["location"] = str(Path(tmp) / "letters")
        big = Path(tmp) / "big.csv"
        write_file(big, args.lines)
        campaign, report, elapsed, _ = timed_import("grand", big)
        print(
            f"import {report.lines:>9,} lignes : {report.lines / elapsed:>9,.0f} lignes/s "
            f"({report.imported:,} importées, {report.refused:,} refusées)"
        )
        # Peak memory of the import for two sizes (10x apart): flat = independent of size.
        for name, size, offset in (
            ("mémoire-a", args.lines // 100, 1_000_000),
            ("mémoire-b", args.lines // 10, 2_000_000),
        ):
            path = Path(tmp) / f"{name}.csv"
            write_file(path, max(size, 1000), offset)
            _, report, _, peak = timed_import(name, path, trace=True)
            print(f"pic mémoire de l'import de {report.lines:>9,} lignes : {peak / 2**20:.1f} Mo")

        # Invitations: emails to a local SMTP sink, then letters.
        from aiosmtpd.controller import Controller

        class Sink:
            async def handle_DATA(self, server, session, envelope):
                return "250 OK"

        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(Sink(), hostname="127.0.0.1", port=port)
        controller.start()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        small_campaign = services.Campaign.objects.get(name="mémoire-b")
        emails = Beneficiary.objects.filter(campaign=small_campaign, channel="email")
        keep = list(emails.values_list("pk", flat=True)[: args.letters])
        emails.exclude(pk__in=keep).update(delivery="not_eligible")
        started = time.perf_counter()
        done = services.send_invitation_emails(small_campaign)
        elapsed = time.perf_counter() - started
        controller.stop()
        print(f"invitations par courriel : {done['sent'] / elapsed:>9,.0f} /s ({done['sent']:,})")
        letters = Beneficiary.objects.filter(campaign=small_campaign, channel="letter")
        keep = list(letters.values_list("pk", flat=True)[: args.letters])
        letters.exclude(pk__in=keep).update(delivery="not_eligible")
        started = time.perf_counter()
        batches = services.build_letter_batches(small_campaign, per_pdf=1000)
        elapsed = time.perf_counter() - started
        count = sum(b.count for b in batches)
        print(f"invitations par courrier : {count / elapsed:>9,.0f} /s ({count:,} pages PDF)")

        # Automatic creation of --auto spaces whose delay has passed.
        due = list(
            Beneficiary.objects.filter(campaign=campaign).values_list("pk", flat=True)[: args.auto]
        )
        past = timezone.now() - timedelta(days=60)
        Beneficiary.objects.filter(pk__in=due).update(
            informed_at=past, auto_create_after=past + timedelta(days=42)
        )
        started = time.perf_counter()
        created = services.create_due_spaces(batch_size=500)
        elapsed = time.perf_counter() - started
        print(f"créations automatiques   : {created / elapsed:>9,.0f} /s ({created:,})")


if __name__ == "__main__":
    main()
