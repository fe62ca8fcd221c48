import pytest

from espace_sante.access import audit
from espace_sante.access.policy import SYSTEM, Action, actor_for_user

from .audit_support import pro_actor


@pytest.fixture
def trail(personas):
    """Five entries in Marie's trail, one in Jean's."""
    marie = actor_for_user(personas.mother.user)
    entries = [
        audit.record(marie, Action.LIST, personas.mother.id, object_type="document"),
        audit.record(
            pro_actor(personas.gp), Action.READ, personas.mother.id, reason="medecin_traitant"
        ),
        audit.record(marie, "settings", personas.mother.id, reason="emergency_btg=non"),
        audit.record(
            pro_actor(personas.hospital_doctor), Action.READ, personas.mother.id, allowed=False
        ),
        audit.record(SYSTEM, Action.LIST, personas.mother.id, object_type="document"),
    ]
    audit.record(actor_for_user(personas.elder.user), Action.LIST, personas.elder.id)
    return entries
