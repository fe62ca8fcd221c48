"""The audit trail is a hash chain per patient: continuous, verified, tamper-evident."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from espace_sante.access import audit, chain
from espace_sante.access.models import AuditEntry, AuditHead
from espace_sante.access.policy import SYSTEM, Action, actor_for_user

from .audit_support import (
    db_value,
    only_postgres,
    pro_actor,
    tamper,
    verify,
)

pytestmark = pytest.mark.django_db


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


def chain_of(patient) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(patient_id=patient.id).order_by("sequence"))


def test_each_patient_has_a_continuous_chain_and_verify_passes(personas, trail):
    entries = chain_of(personas.mother)
    assert [entry.sequence for entry in entries] == [1, 2, 3, 4, 5]
    assert entries[0].previous_hash == chain.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.previous_hash == before.entry_hash
    for entry in entries:
        assert entry.entry_hash == chain.digest(chain.fields_of(entry))
    head = AuditHead.objects.get(patient_id=personas.mother.id)
    assert (head.sequence, head.entry_hash) == (5, entries[-1].entry_hash)
    # Jean's chain starts on its own.
    assert [e.sequence for e in chain_of(personas.elder)] == [1]

    intact, printed = verify()
    assert intact, printed
    assert "2 patient(s), 6 entrée(s)" in printed
    assert verify(personas.mother)[0]


def test_the_entry_records_the_reason_and_who_acted_for_whom(personas, trail):
    read = chain_of(personas.mother)[1]
    assert (read.mode, read.reason, read.actor_professional_id) == (
        "medecin_traitant",
        "medecin_traitant",
        personas.gp.id,
    )
    entry = audit.record(
        pro_actor(personas.gp, acting_for="logiciel-cabinet"),
        Action.READ,
        personas.mother.id,
        reason="emergency_btg : patiente inconsciente",
    )
    assert (entry.mode, entry.acting_for) == ("emergency_btg", "logiciel-cabinet")


def test_an_edited_reason_is_detected(personas, trail):
    tamper(
        "UPDATE access_auditentry SET reason = %s WHERE id = %s",
        ["rien à voir", db_value("id", trail[2].id)],
    )
    intact, printed = verify()
    assert not intact
    assert f"Patient {personas.mother.id}, entrée n° 3" in printed
    assert "entrée modifiée" in printed
    # The other patient's chain is not blamed.
    assert str(personas.elder.id) not in printed


def test_a_deleted_entry_is_detected(personas, trail):
    tamper("DELETE FROM access_auditentry WHERE id = %s", [db_value("id", trail[1].id)])
    intact, printed = verify(personas.mother)
    assert not intact
    assert f"Patient {personas.mother.id}, entrée n° 3 : l'entrée n° 2 manque" in printed


def test_deleting_the_newest_entries_is_detected(personas, trail):
    tamper(
        "DELETE FROM access_auditentry WHERE patient_id = %s AND sequence >= 4",
        [db_value("patient_id", personas.mother.id)],
    )
    intact, printed = verify()
    assert not intact
    assert "entrées n° 4 à 5 manque(nt) en fin de chaîne" in printed


def test_two_swapped_entries_are_detected(personas, trail):
    second, fourth = db_value("id", trail[1].id), db_value("id", trail[3].id)
    # Through a free number: (patient_id, sequence) is unique.
    tamper("UPDATE access_auditentry SET sequence = 999999 WHERE id = %s", [second])
    tamper("UPDATE access_auditentry SET sequence = 2 WHERE id = %s", [fourth])
    tamper("UPDATE access_auditentry SET sequence = 4 WHERE id = %s", [second])
    intact, printed = verify()
    assert not intact
    for sequence in (2, 4):
        assert f"Patient {personas.mother.id}, entrée n° {sequence} : le lien" in printed
        assert f"entrée n° {sequence} : le contenu ne correspond plus" in printed


def test_a_rewritten_chain_still_disagrees_with_its_head(personas, trail):
    """An intruder who recomputes the hashes after deleting the last entry
    is caught by the head, unless they also change the head."""
    last = trail[-1]
    tamper("DELETE FROM access_auditentry WHERE id = %s", [db_value("id", last.id)])
    intact, printed = verify(personas.mother)
    assert not intact and "entrée n° 5 manque(nt) en fin de chaîne" in printed


def test_a_rolled_back_action_leaves_no_entry_and_no_gap(personas, trail):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(SYSTEM, Action.READ, personas.mother.id)
        raise RuntimeError("l'action échoue")
    entry = audit.record(SYSTEM, Action.READ, personas.mother.id)
    assert entry.sequence == 6
    assert verify()[0]


@only_postgres
def test_on_postgresql_the_table_refuses_update_and_delete(personas, trail):
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        AuditEntry.objects.filter(pk=trail[0].pk).update(reason="effacé")
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM access_auditentry WHERE id = %s", [trail[0].id])
    assert AuditEntry.objects.filter(patient_id=personas.mother.id).count() == 5


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_one_patient_do_not_fork_the_chain(personas):
    """Four threads, four connections, forty entries: one chain numbered 1 to 40."""
    patient_id = personas.mother.id
    start = threading.Barrier(4)
    errors = []

    def write():
        try:
            start.wait()
            for _ in range(10):
                with transaction.atomic():
                    audit.record(pro_actor(personas.gp), Action.READ, patient_id)
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sequences = list(
        AuditEntry.objects.filter(patient_id=patient_id)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, 41))
    assert verify()[0]
