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
