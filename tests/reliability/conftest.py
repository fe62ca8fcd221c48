import pytest
from django.db import connection

from .proxy import CuttableProxy


@pytest.fixture
def database_proxy():
    """A proxy in front of the test's PostgreSQL database (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        pytest.skip("Coupure réseau de la base : PostgreSQL seulement (SQLite n'a pas de réseau)")
    settings = connection.settings_dict
    proxy = CuttableProxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)))
    yield proxy
    proxy.close()


# The enrollment fixtures: a campaign and its imported beneficiaries.
from tests.enrollment.conftest import campaign, imported  # noqa: E402, F401

# The messaging fixtures: Marie, Dr Martin, the pharmacy and a conversation.
from tests.messaging.conftest import (  # noqa: E402, F401
    carmes,
    conversation,
    dr_martin,
    marie,
    pharmacist,
    photo_bytes,
)


def pytest_terminal_summary(terminalreporter):
    """Print the figures the reliability tests recorded (``record_property("figures", …)``).

    A user property travels from the xdist workers to the controller, so the figures
    show in CI logs without ``-s``.
    """
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "figures" and getattr(report, "when", "") == "call":
                    terminalreporter.write_sep("-", f"chiffres : {report.nodeid}")
                    terminalreporter.write_line(value)
