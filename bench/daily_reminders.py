"""The daily reminder job over many spaces: time, queries and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/es_bench \\
        .venv/bin/python bench/daily_reminders.py [--spaces 1000000] [--due 0.01]

Fills a database (it must be empty of persons: use a database of its own) with
``--spaces`` open spaces, each already followed by the job (a ``ReminderSchedule``
row), of which the share ``--due`` has its day today and as many have an
appointment tomorrow; then runs ``agenda.reminders.daily_reminders`` once, as the
scheduler does, and prints its wall time, CPU time, the number of SQL queries, the
peak RSS of the process, the notifications queued, and what 68 million spaces with
the same share due would take at that pace on this machine. Without DATABASE_URL it
runs on the SQLite file of ``make run`` (var/), which is slow to fill for a million.
"""

import argparse
import os
import random
import resource
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from espace_sante.access.models import PendingNotification  # noqa: E402
from espace_sante.agenda import reminders  # noqa: E402
from espace_sante.agenda.models import Appointment, ReminderSchedule  # noqa: E402
from espace_sante.identity.models import Person, SpaceState  # noqa: E402

SPACES = 68_000_000
PARIS = ZoneInfo("Europe/Paris")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def fill(spaces: int, due: float, today: date, seed: int) -> None:
    rng = random.Random(seed)
    tomorrow = today + timedelta(days=1)
    chunk = 20_000
    made = 0
    started = time.monotonic()
    while made < spaces:
        size = min(chunk, spaces - made)
        persons, schedules, appointments = [], [], []
        for number in range(made, made + size):
            birth = today - timedelta(days=rng.randrange(0, 97 * 365))
            person = Person(
                id=uuid.uuid4(),
                ins_matricule=f"9{number:014d}",
                birth_name="BENCH",
                first_names="Personne",
                birth_date=birth,
                sex="F" if rng.random() < 0.5 else "M",
                space_state=SpaceState.ACTIVATED,
            )
            persons.append(person)
            is_due = rng.random() < due
            schedules.append(
                ReminderSchedule(
                    patient_id=person.id,
                    next_check_on=today if is_due else today + timedelta(days=rng.randrange(1, 31)),
                    notified_on=today - timedelta(days=rng.randrange(31, 400)),
                )
            )
            if rng.random() < due:
                # Encrypted fields are sealed on save(): built as rows with their ciphertext
                # left empty would be refused on read, but the job only reads dates.
                appointments.append(
                    Appointment(
                        id=uuid.uuid4(),
                        patient_id=person.id,
                        starts_at=datetime(
                            tomorrow.year, tomorrow.month, tomorrow.day, 9, 0, tzinfo=PARIS
                        )
                        + timedelta(minutes=rng.randrange(0, 600)),
                        source="patient",
                        reason_encrypted=b"-",
                        place_encrypted=b"-",
                        with_whom_encrypted=b"-",
                    )
                )
        Person.objects.bulk_create(persons)
        ReminderSchedule.objects.bulk_create(schedules)
        # bulk_create does not call save(): nothing is encrypted, nothing needs a key.
        Appointment.objects.bulk_create(appointments)
        made += size
        if made % 200_000 == 0 or made == spaces:
            print(f"  {made:,} espaces créés ({time.monotonic() - started:.0f} s)", flush=True)


class Counter:
    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.queries += 1
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", type=int, default=1_000_000)
    parser.add_argument("--due", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if Person.objects.exists():
        sys.exit("La base contient déjà des personnes : utilisez une base vide pour le banc.")
    today = timezone.localdate()
    print(f"Base : {connection.vendor}. Création de {args.spaces:,} espaces…", flush=True)
    fill(args.spaces, args.due, today, args.seed)
    due = ReminderSchedule.objects.filter(next_check_on__lte=today).count()
    tomorrow = Appointment.objects.count()
    rss_before = peak_rss_mb()

    counter = Counter()
    cpu, wall = time.process_time(), time.monotonic()
    with connection.execute_wrapper(counter):
        told = reminders.daily_reminders(today)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall

    queued = PendingNotification.objects.count()
    per_space = wall / args.spaces
    print(
        f"Espaces : {args.spaces:,} ; à revoir aujourd'hui : {due:,} ; rendez-vous demain : "
        f"{tomorrow:,}"
    )
    print(
        f"Tâche quotidienne : {wall:.1f} s (CPU du processus {cpu:.1f} s), "
        f"{counter.queries:,} requêtes SQL, {told:,} personnes prévenues, "
        f"{queued:,} notifications en attente"
    )
    print(f"Mémoire : pic {peak_rss_mb():.0f} Mo (avant la tâche {rss_before:.0f} Mo)")
    print(
        f"68 millions d'espaces, même part à revoir : {per_space * SPACES / 3600:.1f} h "
        f"sur un processus, {per_space * SPACES / 3600 / 16:.1f} h sur 16 workers"
    )


if __name__ == "__main__":
    main()
