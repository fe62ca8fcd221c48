"""Prevention forecasts per second for synthetic persons, and the memory it takes.

    .venv/bin/python bench/prevention.py [--persons 1000000] [--chunk 10000] [--seed 13]

Pure engine (espace_sante.agenda.prevention), one process, one core, no database.
Persons are generated chunk by chunk (ages 0 to 96 spread evenly, half women, the
records a person of that age typically has: infant doses, check-ups, boosters,
screenings, seasonal vaccines; 3 % of women 18–44 pregnant), so memory depends on the
chunk, not on the number of persons. Only the ``forecast`` calls are timed.

Prints persons/s (per second of this process's CPU time, the one-core figure, and per
second of wall clock, lower on a busy machine), reminders per person, the peak RSS after
the first chunk, after a tenth of the persons and at the end (flat when the last two
match), and what 68 million spaces would take.
"""

import argparse
import random
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from espace_sante.agenda.prevention import Facts, Record, default_rules  # noqa: E402

TODAY = date(2026, 12, 1)
SPACES = 68_000_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def person(rng: random.Random) -> Facts:
    birth = TODAY - timedelta(days=rng.randrange(0, 97 * 365))
    age = (TODAY - birth).days // 365
    sex = "F" if rng.random() < 0.5 else "M"
    vaccinations: list[Record] = []
    exams: list[Record] = []

    def ago(max_days: int) -> date:
        return TODAY - timedelta(days=rng.randrange(0, max(1, max_days)))

    if age < 2:
        for months in (2, 4, 11):
            if rng.random() < 0.9 and (TODAY - birth).days > months * 30:
                vaccinations.append(Record("hexavalent", birth + timedelta(days=months * 30)))
                vaccinations.append(Record("pneumocoque", birth + timedelta(days=months * 30)))
        exams.append(Record("examen_enfant", birth + timedelta(days=5)))
    elif age < 25:
        if rng.random() < 0.6:
            exams.append(Record("examen_dentaire", ago(365)))
        if age >= 11 and rng.random() < 0.4:
            vaccinations.append(Record("hpv", birth + timedelta(days=12 * 365)))
    else:
        if rng.random() < 0.5:
            vaccinations.append(Record("dtp", ago(15 * 365)))
        if sex == "F" and age < 66 and rng.random() < 0.6:
            exams.append(Record("test_hpv" if age >= 30 else "cytologie_col", ago(5 * 365)))
        if 50 <= age < 75:
            if sex == "F" and rng.random() < 0.5:
                exams.append(Record("mammographie", ago(3 * 365)))
            if rng.random() < 0.35:
                exams.append(Record("test_colorectal", ago(3 * 365)))
        if age >= 65:
            for code in ("grippe", "covid19"):
                if rng.random() < 0.5:
                    vaccinations.append(Record(code, ago(60)))
            if rng.random() < 0.2:
                vaccinations.append(Record("zona", ago(3 * 365)))
    pregnancy = None
    if sex == "F" and 18 <= age < 45 and rng.random() < 0.03:
        pregnancy = TODAY - timedelta(days=rng.randrange(0, 280))
    return Facts(birth, sex, tuple(vaccinations), tuple(exams), pregnancy_start=pregnancy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rules = default_rules()  # loaded and checked once, outside the timing
    forecast = rules.forecast

    elapsed, cpu, reminders, done = 0.0, 0.0, 0, 0
    first_chunk_rss = tenth_rss = None
    while done < args.persons:
        size = min(args.chunk, args.persons - done)
        chunk = [person(rng) for _ in range(size)]
        started, started_cpu = time.perf_counter(), time.process_time()
        for facts in chunk:
            reminders += len(forecast(facts, TODAY))
        elapsed += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        done += size
        if first_chunk_rss is None:
            first_chunk_rss = peak_rss_mb()
        if tenth_rss is None and done >= args.persons // 10:
            tenth_rss = peak_rss_mb()
    # On a shared machine the wall clock counts other processes' turns too: the CPU
    # time of this process is the one-core figure.
    rate = done / cpu
    print(f"rules file version {rules.version}, {len(rules.rules)} rules")
    print(
        f"persons: {done:,}, forecast time: {cpu:.1f} s of CPU, {elapsed:.1f} s of wall clock "
        "(one process, generation not counted)"
    )
    print(
        f"forecasts per second of CPU (one core): {rate:,.0f}; per second of wall clock: "
        f"{done / elapsed:,.0f}"
    )
    print(f"reminders per person: {reminders / done:.2f}")
    print(
        f"peak RSS: {first_chunk_rss:.0f} MB after the first chunk of {args.chunk:,}, "
        f"{tenth_rss:.0f} MB after a tenth of the persons, {peak_rss_mb():.0f} MB at the end"
    )
    one_core = SPACES / rate
    print(
        f"68 million spaces: {one_core / 60:.0f} min on one core, "
        f"{one_core / 60 / 16:.1f} min on 16 cores (forecast only, no database reads)"
    )


if __name__ == "__main__":
    main()
