"""A pytest plugin: the fuzz tests' figures summed over every xdist worker, in one line."""

import json
import os
from collections import Counter


def pytest_terminal_summary(terminalreporter):
    statuses: Counter = Counter()
    seconds = 0.0
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "fuzz" and getattr(report, "when", "") == "call":
                    statuses.update({int(k): v for k, v in value["statuses"].items()})
                    seconds += value["seconds"]
    if not statuses:
        return
    requests = sum(statuses.values())
    errors = sum(n for status, n in statuses.items() if status >= 500)
    shown = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    terminalreporter.write_line(
        f"fuzz: {requests} requests, {errors} server errors, "
        f"{seconds:.1f} s in the application ({shown})"
    )
    report_file = os.environ.get("FUZZ_REPORT")
    if report_file:  # bench/fuzz.py reads it
        with open(report_file, "w") as out:
            json.dump({"statuses": dict(statuses), "seconds": seconds}, out)
