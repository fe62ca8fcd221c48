"""Longer fuzzing runs of the FHIR door and the JSON endpoints. Prints figures; asserts nothing.

    .venv/bin/python bench/fuzz.py [--requests 100000] [--seed 7] [--workers 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/es_fuzz .venv/bin/python bench/fuzz.py

The suite's fuzz test (tests/fuzz/test_fuzz_api.py: schemathesis from
espace_sante/fhir/openapi.yaml, in-process WSGI, a throwaway test database) with another
budget and seed, spread over pytest-xdist workers. Prints the requests sent, the answers by
status, the server errors, the wall and CPU time. A server error also fails the run: pytest
prints the smallest request that caused it (hypothesis shrinks it) with a curl command.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="budget (all operations)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="hypothesis seed")
    parser.add_argument("--workers", default="2", help="pytest-xdist workers (0: one process)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as tmp:
        report = Path(tmp) / "fuzz.json"
        env = {
            **os.environ,
            "FUZZ_REQUESTS": str(args.requests),
            "FUZZ_SEED": str(args.seed),
            "FUZZ_REPORT": str(report),
        }
        command = [
            str(ROOT / ".venv" / "bin" / "pytest"),
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            args.workers,
            "-m",
            "fuzz",
            "tests/fuzz",
        ]
        database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
        print(f"fuzz: budget {args.requests} requests, seed {args.seed}, {database}", flush=True)
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = json.loads(report.read_text()) if report.exists() else {"statuses": {}}

    statuses = {int(k): v for k, v in figures["statuses"].items()}
    sent = sum(statuses.values())
    errors = sum(n for status, n in statuses.items() if status >= 500)
    print()
    print(f"requests sent          {sent}")
    for status, count in sorted(statuses.items()):
        print(f"  HTTP {status}            {count}")
    print(f"server errors (5xx)    {errors}")
    print(f"in the application     {figures.get('seconds', 0):.1f} s")
    print(f"wall time              {wall:.1f} s (database creation included)")
    print(f"CPU time (all workers) {usage.ru_utime + usage.ru_stime:.1f} s")
    print(f"seed                   {args.seed} (FUZZ_SEED={args.seed} to replay)")
    return finished.returncode


if __name__ == "__main__":
    sys.exit(main())
