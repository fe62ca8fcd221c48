"""The audit trail is a hash chain per patient: continuous, verified, tamper-evident."""

import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, connections, transaction

from espace_sante.access import audit, chain
from espace_sante.access.models import AuditEntry, AuditHead
from espace_sante.access.policy import SYSTEM, Action, actor_for_user

from .audit_support import (
    db_value,
    hmac_key,
    only_postgres,
    pro_actor,
    tamper,
    verify,
)

pytestmark = pytest.mark.django_db


def chain_of(patient) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(patient_id=patient.id).order_by("sequence"))


def test_each_patient_has_a_continuous_chain_and_verify_passes(personas, trail):
    entries = chain_of(personas.mother)
    assert [entry.sequence for entry in entries] == [1, 2, 3, 4, 5]
    assert entries[0].previous_hash == chain.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.previous_hash == before.entry_hash
    for entry in entries:
        assert entry.chain_format == 2
        assert entry.entry_hash == chain.digest(chain.fields_of(entry), hmac_key(entry.key_id))
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


@pytest.mark.parametrize(
    "column, forged",
    [
        # Who read: the médecin traitant's read put on another professional.
        ("actor_professional_id", lambda personas: personas.hospital_doctor.id),
        # What was read: another object.
        ("object_id", lambda personas: uuid.uuid4()),
        # From where.
        ("ip", lambda personas: "203.0.113.9"),
    ],
)
def test_who_what_and_from_where_are_covered_by_the_hash(personas, trail, column, forged):
    tamper(
        f"UPDATE access_auditentry SET {column} = %s WHERE id = %s",  # noqa: S608 (listed above)
        [db_value(column, forged(personas)), db_value("id", trail[1].id)],
    )
    intact, printed = verify(personas.mother)
    assert not intact
    assert f"Patient {personas.mother.id}, entrée n° 2 : le contenu ne correspond plus" in printed


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


def test_a_deleted_newest_entry_disagrees_with_its_head(personas, trail):
    """The head catches a deleted newest entry, unless the intruder also rewinds it:
    that, and a recomputed chain, are caught by the seals (test_audit_seals.py)."""
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


def test_an_entry_rewritten_in_the_middle_is_detected_even_with_its_link_mended(personas, trail):
    """An intruder turns « urgence : non » into « urgence : oui », recomputes that
    entry's own hash and mends the next entry's link to it: the next entry's hash
    covers the link, so the whole rest of the chain would have to be rewritten."""
    third = AuditEntry.objects.get(pk=trail[2].pk)
    third.reason = "emergency_btg=oui"
    # (This intruder even has the HMAC key: the chain alone still catches it.)
    forged = chain.digest(chain.fields_of(third), hmac_key(third.key_id))
    tamper(
        "UPDATE access_auditentry SET reason = %s, entry_hash = %s WHERE id = %s",
        [third.reason, forged, db_value("id", third.id)],
    )
    tamper(
        "UPDATE access_auditentry SET previous_hash = %s WHERE id = %s",
        [forged, db_value("id", trail[3].id)],
    )
    intact, printed = verify(personas.mother)
    assert not intact
    assert "entrée n° 3" not in printed  # its own hash and link agree
    assert f"Patient {personas.mother.id}, entrée n° 4 : le contenu ne correspond plus" in printed


@contextmanager
def database_speaks(time_zone: str):
    """The connection hands times back in ``time_zone`` (``DATABASES`` ``TIME_ZONE``),
    as a database shared with software that works in local time may be set up."""
    wrapper = connections["default"]  # not the proxy: its cached properties are cleared
    before = wrapper.settings_dict["TIME_ZONE"]

    def switch(name):
        wrapper.settings_dict["TIME_ZONE"] = name
        for cached in ("timezone", "timezone_name"):
            wrapper.__dict__.pop(cached, None)
        wrapper.ensure_timezone()  # PostgreSQL: the session's TimeZone too

    switch(time_zone)
    try:
        yield
    finally:
        switch(before)


def test_the_trail_verifies_when_the_database_gives_times_in_paris_time(personas):
    with database_speaks("Europe/Paris"):
        audit.record(actor_for_user(personas.mother.user), Action.LIST, personas.mother.id)
        audit.record(pro_actor(personas.gp), Action.READ, personas.mother.id)
        entries = chain_of(personas.mother)
        assert {entry.at.utcoffset() for entry in entries} <= {
            timedelta(hours=1),
            timedelta(hours=2),
        }
        intact, printed = verify(personas.mother)
    assert intact, printed


def test_the_trail_written_in_paris_verifies_on_a_server_set_to_another_time_zone(
    personas, trail, settings
):
    """Entries are hashed in UTC, not in the server's local time: moving the
    service (or running ``audit verify``) where TIME_ZONE is Cayenne's changes nothing."""
    assert settings.TIME_ZONE == "Europe/Paris"
    settings.TIME_ZONE = "America/Cayenne"
    intact, printed = verify(personas.mother)
    assert intact, printed


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),  # last second of winter time
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # summer time begins
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 in Paris, the first time
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 in Paris, the second time
    ],
)
def test_an_entry_hashes_the_same_instant_whatever_time_zone_spells_it(personas, instant):
    entry = audit.record(SYSTEM, Action.LIST, personas.mother.id)
    in_utc = {**chain.fields_of(entry), "at": instant}
    in_paris = {**in_utc, "at": instant.astimezone(ZoneInfo("Europe/Paris"))}
    key = hmac_key(entry.key_id)
    assert chain.digest(in_paris, key) == chain.digest(in_utc, key)


# An entry of format 1 as the database hands it back, the exact bytes its hash
# covers, and that hash. Trails are kept for years: every release must verify
# them, so a change of serialisation needs a new chain.FORMAT, not an edit.
STORED_ENTRY = {
    "id": uuid.UUID("0b6f1f6e-8d1c-4c43-9a51-3f2a1c9e7d10"),
    "patient_id": uuid.UUID("5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"),
    "sequence": 7,
    "at": datetime(2026, 3, 29, 1, 59, 59, 123456, tzinfo=ZoneInfo("Europe/Paris")),
    "actor_kind": "professional",
    "actor_user_id": 42,
    "actor_person_id": None,
    "actor_professional_id": uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
    "actor_organization_id": None,
    "acting_for": "logiciel-cabinet",
    "action": "read",
    "object_type": "document",
    "object_id": uuid.UUID("1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"),
    "outcome": "allowed",
    "mode": "emergency_btg",
    "reason": "emergency_btg : patiente inconsciente, arrivée aux urgences",
    "request_id": "lb-4f2a9c1e-0001",
    "ip": "192.0.2.7",
    "previous_hash": "ab" * 32,
}
FORMAT_1_BYTES = (
    '{"acting_for":"logiciel-cabinet","action":"read","actor_kind":"professional",'
    '"actor_organization_id":null,"actor_person_id":null,'
    '"actor_professional_id":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","actor_user_id":42,'
    '"at":"2026-03-29T00:59:59.123456+00:00","format":1,'
    '"id":"0b6f1f6e-8d1c-4c43-9a51-3f2a1c9e7d10","ip":"192.0.2.7","mode":"emergency_btg",'
    '"object_id":"1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5","object_type":"document",'
    '"outcome":"allowed","patient_id":"5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",'
    '"previous_hash":"' + "ab" * 32 + '",'
    '"reason":"emergency_btg : patiente inconsciente, arrivée aux urgences",'
    '"request_id":"lb-4f2a9c1e-0001","sequence":7}'
).encode()
FORMAT_1_HASH = "37eced3dbd1162271961fa8226129492df6d5f96e8fd2549eb3aca8a5d494d1d"


def test_an_entry_written_by_an_earlier_release_still_verifies():
    assert chain.canonical(STORED_ENTRY) == FORMAT_1_BYTES
    assert chain.digest(STORED_ENTRY) == FORMAT_1_HASH
