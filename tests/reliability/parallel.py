"""Twenty callers at once, and the one line of figures each race prints.

Threads each get their own database connection (Django's connections are per
thread), so on PostgreSQL the calls really run side by side; SQLite's
in-memory test database is not shared between threads, hence ``ON_POSTGRES``.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, connections

PARALLEL = 20

ON_POSTGRES = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Requêtes simultanées : PostgreSQL seulement (SQLite en mémoire n'est pas partagé)",
)


class Race:
    """What twenty simultaneous calls gave back: results, errors, and how long it took."""

    def __init__(self, results: list, errors: list, seconds: float):
        self.results = results
        self.errors = errors
        self.seconds = seconds

    def outcomes(self, kind: Callable[[object], str] = lambda result: "ok") -> Counter:
        """How many callers got each outcome (results named by ``kind``, errors by class)."""
        counted = Counter(kind(result) for result in self.results)
        counted.update(type(error).__name__ for error in self.errors)
        return counted

    def report(self, name: str, *, kind=lambda result: "ok", **figures) -> None:
        """One line: calls, outcomes, then the rows and audit entries the test counted."""
        outcomes = ", ".join(f"{key}={count}" for key, count in sorted(self.outcomes(kind).items()))
        extra = " ".join(f"{key}={value}" for key, value in figures.items())
        print(
            f"\n[course] {name}: appels={len(self.results) + len(self.errors)} "
            f"({outcomes}) {extra} durée={self.seconds * 1000:.0f} ms"
        )


def all_at_once(action, count: int = PARALLEL) -> tuple[list, list]:
    """Run ``action`` in ``count`` threads released together; their results and errors."""
    race = race_of(action, count)
    return race.results, race.errors


def race_of(action, count: int = PARALLEL) -> Race:
    """``action(i)`` (or ``action()``) in ``count`` threads released together."""
    start = threading.Barrier(count)
    results, errors = [], []
    lock = threading.Lock()
    takes_index = action.__code__.co_argcount > 0 if hasattr(action, "__code__") else False

    def run(index: int):
        try:
            start.wait()
            result = action(index) if takes_index else action()
            with lock:
                results.append(result)
        except Exception as error:  # reported by the test, in its own thread
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Race(results, errors, time.perf_counter() - began)
