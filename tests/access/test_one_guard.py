"""One guard: outside the access kernel, nobody decides or writes the audit trail themselves.

Architecture rule 1: services and doors go through ``access.guard`` (the
policy decides, a typed event is written from the decision, a refusal is
traced and raised). A module outside ``espace_sante/access/`` that imports
``access.audit`` or calls the policy's decisions (``decide``, ``can``,
``check``, ``decide_message``) fails here; so does an audit event code that
nobody registered.
"""

import ast
from pathlib import Path

import pytest

from espace_sante.access import audit, events
from espace_sante.access.guard import guard
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import SYSTEM, Action, Actor, ActorKind, NotAllowed

ROOT = Path(__file__).resolve().parents[2] / "espace_sante"
KERNEL = ROOT / "access"
DECISIONS = {"decide", "can", "check", "decide_message", "decide_settings"}


def bypasses(path: Path) -> list[str]:
    """Imports of the audit writer and calls of the policy's decisions in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(ROOT.parent)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {alias.name for alias in node.names}
            if node.module == "espace_sante.access" and "audit" in names:
                found.append(f"{where}:{node.lineno} imports access.audit")
            if node.module == "espace_sante.access.audit":
                found.append(f"{where}:{node.lineno} imports from access.audit")
            if node.module == "espace_sante.access.policy" and names & DECISIONS:
                found.append(f"{where}:{node.lineno} imports {sorted(names & DECISIONS)}")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "policy"
            and node.attr in DECISIONS
        ):
            found.append(f"{where}:{node.lineno} policy.{node.attr}")
    return found


def outside_the_kernel() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not path.is_relative_to(KERNEL) and "migrations" not in path.parts
    )


def test_no_service_or_door_decides_or_audits_around_the_guard():
    found = [line for path in outside_the_kernel() for line in bypasses(path)]
    assert found == [], "Passez par espace_sante.access.guard :\n" + "\n".join(found)


def test_the_bypass_check_sees_a_direct_policy_call(tmp_path):
    module = tmp_path / "views.py"
    module.write_text(
        "from espace_sante.access import audit, policy\n"
        "def view(actor, pid):\n"
        "    if policy.can(actor, 'read', pid):\n"
        "        audit.record(actor, 'read', pid)\n",
        encoding="utf-8",
    )
    module = module.rename(ROOT / "_tmp_bypass_probe.py")
    try:
        assert len(bypasses(module)) == 2
    finally:
        module.unlink()


@pytest.mark.django_db
def test_an_unregistered_event_is_refused_before_anything_is_written(personas):
    before = AuditEntry.objects.filter(patient_id=personas.mother.id).count()
    with pytest.raises(events.UnknownEvent):
        audit.record(SYSTEM, "raed", personas.mother.id)
    assert AuditEntry.objects.filter(patient_id=personas.mother.id).count() == before


def test_every_event_says_how_the_history_and_the_api_show_it():
    for event in events.registered():
        assert event.phrase, event.code
        assert event.balp[0] in {"C", "R", "U", "D", "E"}, event.code
        assert event.category in {"", *events.CATEGORIES}, event.code


def test_every_message_read_is_a_consultation_in_the_history():
    consultations = set(events.codes(category=events.CONSULTATIONS))
    assert {"read", "list", "message_read", "message_list"} <= consultations


@pytest.mark.django_db
def test_a_stranger_refused_by_the_guard_leaves_a_refusal_in_the_trail(personas):
    stranger = Actor(ActorKind.PATIENT, person_id=personas.child.id)
    with pytest.raises(NotAllowed):
        guard(stranger, Action.LIST, personas.mother.id, object_type="document")
    last = AuditEntry.objects.filter(patient_id=personas.mother.id).order_by("-sequence").first()
    assert (last.action, last.outcome, str(last.actor_person_id)) == (
        "list",
        AuditEntry.Outcome.DENIED,
        str(personas.child.id),
    )


@pytest.mark.django_db
def test_an_allowed_access_is_traced_with_the_policy_reason(personas):
    from espace_sante.access.policy import actor_for_user

    gp = actor_for_user(personas.gp.user)
    access = guard(gp, Action.LIST, personas.mother.id, object_type="document")
    last = AuditEntry.objects.filter(patient_id=personas.mother.id).order_by("-sequence").first()
    assert (last.action, last.outcome, last.mode) == ("list", "allowed", "medecin_traitant")
    assert access.mode == "medecin_traitant"
