"""An audit trail a database insider cannot rewrite (issue 12, item 1).

The four attacks of the red team, each reproduced: TRUNCATE, DISABLE TRIGGER
then UPDATE, the newest entry deleted with its head rewound, an entry changed
with the following hashes recomputed. Each is detected by ``audit verify``
(keyed chain, seals) and, on PostgreSQL, refused to the application's role.

Expected hashes are computed here, with ``json``, ``hashlib`` and ``hmac`` and
the key read from its file, never with ``espace_sante.access.chain``.
"""

import base64
import hashlib
import hmac
import io
import json
import secrets
import shutil
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from espace_sante.access import audit
from espace_sante.access.models import AuditEntry, AuditHead
from espace_sante.access.policy import SYSTEM, Action
from espace_sante.access.seals import SealError
from espace_sante.access.tasks import seal_audit_trail

from .audit_support import POSTGRES, db_value, hmac_key, only_postgres, tamper, verify

pytestmark = pytest.mark.django_db

GENESIS = "0" * 64
UUID_COLUMNS = {
    "id",
    "patient_id",
    "actor_person_id",
    "actor_professional_id",
    "actor_organization_id",
    "object_id",
}


def spelled(name, value):
    """How the chain spells one column (restated from the format, not imported)."""
    if value is None:
        return None
    if name == "at":
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if name in UUID_COLUMNS:
        return str(uuid.UUID(str(value)))
    if name in ("sequence", "actor_user_id"):
        return int(value)
    return str(value)


def canonical_bytes(row: dict) -> bytes:
    """Format 1: every column but the hash and the format/key columns, plus "format";
    format 2 adds "key_id"."""
    data = {
        name: spelled(name, value)
        for name, value in row.items()
        if name not in ("entry_hash", "chain_format", "key_id")
    }
    data["format"] = row["chain_format"]
    if row["chain_format"] == 2:
        data["key_id"] = row["key_id"]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def expected_hash(row: dict) -> str:
    if row["chain_format"] == 1:
        return hashlib.sha256(canonical_bytes(row)).hexdigest()
    return hmac.new(hmac_key(row["key_id"]), canonical_bytes(row), hashlib.sha256).hexdigest()


def rows_of(patient_id) -> list[dict]:
    return list(AuditEntry.objects.filter(patient_id=patient_id).order_by("sequence").values())


def seal() -> str:
    out = io.StringIO()
    call_command("audit", "seal", stdout=out)
    return out.getvalue()


def seals_dir() -> Path:
    return Path(settings.VAR_DIR) / "audit-seals"


def sql(statement: str, params=()) -> None:
    """What the insider does on tables without a trigger (the heads)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


# --- The keyed chain ---------------------------------------------------------


def test_new_entries_are_keyed_with_a_key_kept_outside_the_database(personas, trail):
    key_file = Path(settings.VAR_DIR) / "keys" / "audit_hmac.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keyring = json.loads(key_file.read_text())
    rows = rows_of(personas.mother.id)
    for row in rows:
        assert (row["chain_format"], row["key_id"]) == (2, keyring["primary"])
        assert row["entry_hash"] == expected_hash(row)
        # Not the unkeyed SHA-256 a database insider could recompute.
        assert row["entry_hash"] != hashlib.sha256(canonical_bytes(row)).hexdigest()
    assert [r["previous_hash"] for r in rows] == [GENESIS] + [r["entry_hash"] for r in rows[:-1]]


# Every column of an entry, with a forged value; a new column fails
# test_every_column_is_listed until it is listed here (and hashed).
FORGERIES = {
    "id": lambda p: uuid.uuid4(),
    "patient_id": lambda p: p.elder.id,
    "sequence": lambda p: 99,
    "at": lambda p: datetime(2020, 1, 1, 12, 0, tzinfo=UTC),
    "actor_kind": lambda p: "system",
    "actor_user_id": lambda p: 999999,
    "actor_person_id": lambda p: uuid.uuid4(),
    "actor_professional_id": lambda p: p.hospital_doctor.id,
    "actor_organization_id": lambda p: uuid.uuid4(),
    "acting_for": lambda p: "quelqu'un d'autre",
    "action": lambda p: "delete",
    "object_type": lambda p: "profile",
    "object_id": lambda p: uuid.uuid4(),
    "outcome": lambda p: "denied",
    "mode": lambda p: "consent",
    "reason": lambda p: "rien à voir",
    "request_id": lambda p: "forged-request",
    "ip": lambda p: "203.0.113.9",
    "previous_hash": lambda p: "cd" * 32,
    "chain_format": lambda p: 1,
    "key_id": lambda p: "deadbeef",
}


def test_every_column_is_listed_and_hashed(personas, trail):
    columns = {field.attname for field in AuditEntry._meta.concrete_fields}
    assert set(FORGERIES) == columns - {"entry_hash"}
    # The independent serialisation over every column gives the stored hash:
    # no column is left out of what the HMAC covers.
    row = rows_of(personas.mother.id)[1]
    assert set(json.loads(canonical_bytes(row))) == (columns - {"entry_hash", "chain_format"}) | {
        "format"
    }
    assert row["entry_hash"] == expected_hash(row)


@pytest.mark.parametrize("column", sorted(FORGERIES))
def test_tampering_with_any_column_is_detected(personas, trail, column):
    intact, printed = verify()
    assert intact, printed
    forged = FORGERIES[column](personas)
    tamper(
        f"UPDATE access_auditentry SET {column} = %s WHERE id = %s",  # noqa: S608 (listed above)
        [db_value(column, forged), db_value("id", trail[1].id)],
    )
    intact, printed = verify()
    assert not intact
    assert "entrée n° 2" in printed, printed


def test_a_rotated_key_chains_new_entries_and_old_ones_still_verify(personas, trail):
    old_key = rows_of(personas.mother.id)[-1]["key_id"]
    out = io.StringIO()
    call_command("audit", "rotate-key", stdout=out)
    key_file = Path(settings.VAR_DIR) / "keys" / "audit_hmac.json"
    keyring = json.loads(key_file.read_text())
    new_key = keyring["primary"]
    assert new_key != old_key and set(keyring["keys"]) == {old_key, new_key}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert new_key in out.getvalue()
    entry = audit.record(SYSTEM, Action.LIST, personas.mother.id)
    row = rows_of(personas.mother.id)[-1]
    assert (entry.key_id, row["key_id"]) == (new_key, new_key)
    assert row["entry_hash"] == expected_hash(row)
    assert verify()[0]
    # Without the old key, the old entries cannot be verified: they are reported.
    del keyring["keys"][old_key]
    key_file.write_text(json.dumps(keyring))
    intact, printed = verify()
    assert not intact and f"clé d'empreinte « {old_key} » inconnue" in printed


# --- Seals ---------------------------------------------------------------------


def test_a_seal_signs_the_heads_and_chains_to_the_previous_seal(personas, trail):
    assert "Scellement n° 1 : 2 patient(s), 6 entrée(s)" in seal()
    audit.record(SYSTEM, Action.LIST, personas.mother.id)
    assert "Scellement n° 2 : 2 patient(s), 7 entrée(s)" in seal()
    lines = (seals_dir() / "seals.jsonl").read_bytes().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["previous"] == GENESIS
    assert second["previous"] == hashlib.sha256(lines[0]).hexdigest()
    heads = (seals_dir() / second["heads_file"]).read_text().splitlines()
    mother = AuditHead.objects.get(patient_id=personas.mother.id)
    assert f"{personas.mother.id} 6 {mother.entry_hash}" in heads
    assert (
        second["heads_sha256"]
        == hashlib.sha256((seals_dir() / second["heads_file"]).read_bytes()).hexdigest()
    )
    # The signature, checked with the public key file alone.
    public = load_pem_public_key(
        (Path(settings.VAR_DIR) / "keys" / "audit_seal_ed25519.pub").read_bytes()
    )
    signature = base64.b64decode(second.pop("signature"))
    public.verify(signature, json.dumps(second, sort_keys=True, separators=(",", ":")).encode())
    private = Path(settings.VAR_DIR) / "keys" / "audit_seal_ed25519.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    intact, printed = verify()
    assert intact and "dernier scellement n° 2" in printed, printed


@pytest.mark.parametrize("forgery", ["edited", "removed", "heads"])
def test_a_forged_seal_file_is_detected(personas, trail, forgery):
    seal()
    audit.record(SYSTEM, Action.LIST, personas.mother.id)
    seal()
    path = seals_dir() / "seals.jsonl"
    lines = path.read_bytes().splitlines()
    if forgery == "edited":
        record = json.loads(lines[1])
        record["entries"] = 3
        lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        path.write_bytes(b"\n".join(lines) + b"\n")
        expected = "signature invalide"
    elif forgery == "removed":
        path.write_bytes(lines[1] + b"\n")
        expected = "numéro 2 inattendu"
    else:
        heads = seals_dir() / json.loads(lines[1])["heads_file"]
        heads.write_text(heads.read_text().replace(" 6 ", " 5 "))
        expected = "modifiées"
    intact, printed = verify()
    assert not intact and expected in printed, printed


def keys_dir() -> Path:
    return Path(settings.VAR_DIR) / "keys"


def rotate_seal_key() -> str:
    out = io.StringIO()
    call_command("audit", "rotate-seal-key", stdout=out)
    return out.getvalue()


def public_keys_on_file() -> list[str]:
    """SHA-256 of each public key in the .pub file, as seals name them (of its PEM)."""
    end = "-----END PUBLIC KEY-----\n"
    raw = (keys_dir() / "audit_seal_ed25519.pub").read_text()
    return [hashlib.sha256((block + end).encode()).hexdigest() for block in raw.split(end)[:-1]]


def test_a_rotated_seal_key_is_announced_by_the_old_one_and_old_seals_still_verify(personas, trail):
    seal()
    old_private = (keys_dir() / "audit_seal_ed25519.pem").read_bytes()
    assert "annoncée par le scellement n° 2" in rotate_seal_key()
    audit.record(SYSTEM, Action.LIST, personas.mother.id)
    seal()
    first, announce, after = (
        json.loads(line) for line in (seals_dir() / "seals.jsonl").read_bytes().splitlines()
    )
    old_key, new_key = public_keys_on_file()
    assert first["public_key_sha256"] == announce["public_key_sha256"] == old_key
    assert announce["next_public_key_sha256"] == after["public_key_sha256"] == new_key
    # The old private key is gone from the disk: it can sign nothing more.
    assert (keys_dir() / "audit_seal_ed25519.pem").read_bytes() != old_private
    assert not (keys_dir() / "audit_seal_ed25519.next.pem").exists()
    intact, printed = verify()
    assert intact and "dernier scellement n° 3" in printed, printed


def test_a_seal_signed_with_a_retired_key_is_detected(personas, trail):
    seal()
    old_private = load_pem_private_key(
        (keys_dir() / "audit_seal_ed25519.pem").read_bytes(), password=None
    )
    rotate_seal_key()
    # Whoever kept the old key appends a seal of their own, correctly chained.
    path = seals_dir() / "seals.jsonl"
    last = path.read_bytes().splitlines()[-1]
    body = {**json.loads(last), "seal": 3, "previous": hashlib.sha256(last).hexdigest()}
    del body["signature"], body["next_public_key_sha256"]
    signature = base64.b64encode(
        old_private.sign(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    ).decode()
    line = json.dumps({**body, "signature": signature}, sort_keys=True, separators=(",", ":"))
    with path.open("ab") as handle:
        handle.write(line.encode() + b"\n")
    intact, printed = verify()
    assert not intact and "n'annonçait pas" in printed, printed


def test_a_rotation_cut_before_its_seal_leaves_the_old_key_signing(personas, trail):
    from espace_sante.access import audit_keys

    seal()
    before = (keys_dir() / "audit_seal_ed25519.pem").read_bytes()
    audit_keys.next_seal_key(create=True)  # the crash: the next key exists, no seal announced it
    seal()
    assert (keys_dir() / "audit_seal_ed25519.pem").read_bytes() == before
    assert not (keys_dir() / "audit_seal_ed25519.next.pem").exists()
    intact, printed = verify()
    assert intact and "dernier scellement n° 2" in printed, printed


def test_a_rotation_cut_after_its_seal_is_finished_by_the_next_seal(personas, trail):
    seal()
    old = (keys_dir() / "audit_seal_ed25519.pem").read_bytes()
    rotate_seal_key()
    # The crash: announced, but the new key was not yet moved in place.
    (keys_dir() / "audit_seal_ed25519.pem").rename(keys_dir() / "audit_seal_ed25519.next.pem")
    (keys_dir() / "audit_seal_ed25519.pem").write_bytes(old)
    seal()
    assert (keys_dir() / "audit_seal_ed25519.pem").read_bytes() != old
    intact, printed = verify()
    assert intact and "dernier scellement n° 3" in printed, printed


def test_a_lost_announced_key_stops_sealing_with_the_old_one(personas, trail):
    seal()
    old = (keys_dir() / "audit_seal_ed25519.pem").read_bytes()
    rotate_seal_key()
    (keys_dir() / "audit_seal_ed25519.pem").write_bytes(old)
    with pytest.raises(CommandError, match="n'est pas celle que le scellement n° 2 annonce"):
        seal()


def test_a_tampered_trail_is_not_sealed(personas, trail):
    tamper(
        "UPDATE access_auditentry SET reason = %s WHERE id = %s",
        ["effacé", db_value("id", trail[2].id)],
    )
    with pytest.raises(CommandError, match="Scellement refusé"):
        seal()
    assert not (seals_dir() / "seals.jsonl").exists()


def test_the_worker_seals_and_seals_again_later(personas, trail):
    assert seal_audit_trail.call(600) == 1
    assert (seals_dir() / "seals.jsonl").read_bytes().count(b"\n") == 1
    queued = DBTaskResult.objects.filter(task_path__endswith="seal_audit_trail").get()
    assert queued.run_after is not None and queued.args_kwargs["args"] == [600]


def test_a_refused_seal_still_schedules_the_next_one(personas, trail):
    tamper(
        "UPDATE access_auditentry SET reason = %s WHERE id = %s",
        ["effacé", db_value("id", trail[2].id)],
    )
    with pytest.raises(SealError, match="Scellement refusé"):
        seal_audit_trail.call(600)
    assert DBTaskResult.objects.filter(task_path__endswith="seal_audit_trail").count() == 1


# --- The four attacks of the red team ------------------------------------------


def test_attack_1_truncating_the_trail_is_detected(personas, trail):
    seal()
    if POSTGRES:
        sql("TRUNCATE access_auditentry, access_audithead CASCADE")
    else:
        sql("DELETE FROM access_auditentry")
        sql("DELETE FROM access_audithead")
    intact, printed = verify()
    assert not intact
    assert "0 entrée(s) en base, le scellement n° 1" in printed
    assert "en atteste 6 (journal tronqué)" in printed
    assert f"Patient {personas.mother.id}, entrée n° 5 : l'entrée scellée" in printed
    assert f"Patient {personas.elder.id}, entrée n° 1 : l'entrée scellée" in printed


@only_postgres
def test_attack_2_an_update_with_the_trigger_disabled_is_detected(personas, trail):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE access_auditentry DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE access_auditentry SET reason = %s, actor_professional_id = %s WHERE id = %s",
            ["consultation programmée", personas.hospital_doctor.id, trail[1].id],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE access_auditentry ENABLE TRIGGER USER")
    intact, printed = verify()
    assert not intact
    assert f"Patient {personas.mother.id}, entrée n° 2 : le contenu ne correspond plus" in printed


def test_attack_3_the_newest_entry_deleted_and_the_head_rewound_is_detected(personas, trail):
    seal()
    fourth = rows_of(personas.mother.id)[3]
    tamper("DELETE FROM access_auditentry WHERE id = %s", [db_value("id", trail[4].id)])
    sql(
        "UPDATE access_audithead SET sequence = 4, entry_hash = %s WHERE patient_id = %s",
        [fourth["entry_hash"], db_value("patient_id", personas.mother.id)],
    )
    intact, printed = verify()
    assert not intact
    assert f"Patient {personas.mother.id}, entrée n° 5 : l'entrée scellée" in printed
    assert "la tête de chaîne est revenue avant l'entrée n° 5 scellée" in printed
    assert str(personas.elder.id) not in printed


def rewrite(rows: list[dict], start: int, chain_format: int) -> str:
    """The insider's rewrite: from rows[start] on, recompute each SHA-256 (all they
    can compute without the key) and mend each link; returns the new last hash."""
    previous = rows[start - 1]["entry_hash"] if start else GENESIS
    for row in rows[start:]:
        row.update(previous_hash=previous, chain_format=chain_format)
        if chain_format == 1:
            row["key_id"] = ""
        row["entry_hash"] = hashlib.sha256(canonical_bytes(row)).hexdigest()
        tamper(
            "UPDATE access_auditentry SET reason = %s, previous_hash = %s, chain_format = %s, "
            "key_id = %s, entry_hash = %s WHERE id = %s",
            [
                row["reason"],
                row["previous_hash"],
                chain_format,
                row["key_id"],
                row["entry_hash"],
                db_value("id", row["id"]),
            ],
        )
        previous = row["entry_hash"]
    return previous


def rewind_head(patient_id, rows) -> None:
    sql(
        "UPDATE access_audithead SET entry_hash = %s WHERE patient_id = %s",
        [rows[-1]["entry_hash"], db_value("patient_id", patient_id)],
    )


def test_attack_4_a_keyed_chain_recomputed_with_sha256_is_detected(personas, trail):
    rows = rows_of(personas.mother.id)
    rows[2]["reason"] = "emergency_btg=oui"
    rewrite(rows, 2, chain_format=2)  # left keyed: the HMAC cannot be recomputed
    rewind_head(personas.mother.id, rows)
    intact, printed = verify()
    assert not intact
    for sequence in (3, 4, 5):
        assert f"entrée n° {sequence} : le contenu ne correspond plus" in printed


def test_attack_4_a_keyed_chain_rewritten_without_key_is_detected(personas, trail):
    """Downgraded to the keyless format 1 from the third entry on."""
    rows = rows_of(personas.mother.id)
    rows[2]["reason"] = "emergency_btg=oui"
    rewrite(rows, 2, chain_format=1)
    rewind_head(personas.mother.id, rows)
    intact, printed = verify()
    assert not intact
    assert "entrée n° 3 : entrée sans clé après une entrée chaînée par clé" in printed


def test_attack_4_a_whole_chain_rewritten_without_key_is_detected_by_the_seal(personas, trail):
    seal()
    rows = rows_of(personas.mother.id)
    rows[2]["reason"] = "emergency_btg=oui"
    rewrite(rows, 0, chain_format=1)
    rewind_head(personas.mother.id, rows)
    intact, printed = verify()
    assert not intact
    assert "entrée n° 5 : l'entrée ne correspond pas au scellement n° 1" in printed
    assert "entrée n° 1 : entrée sans clé que le scellement n° 1 ne couvre pas" not in printed


def write_unkeyed_chain(patient_id, count: int) -> list[dict]:
    """A trail written before the chain was keyed (format 1), hashed here."""
    rows, previous = [], GENESIS
    for sequence in range(1, count + 1):
        row = {
            "id": uuid.uuid4(),
            "patient_id": patient_id,
            "sequence": sequence,
            "at": datetime(2026, 1, sequence, 9, 0, tzinfo=UTC),
            "actor_kind": "professional",
            "actor_user_id": 40 + sequence,
            "actor_person_id": None,
            "actor_professional_id": uuid.uuid4(),
            "actor_organization_id": None,
            "acting_for": "",
            "action": "read",
            "object_type": "document",
            "object_id": uuid.uuid4(),
            "outcome": "allowed",
            "mode": "care_team",
            "reason": "care_team",
            "request_id": f"req-{sequence}",
            "ip": "192.0.2.7",
            "previous_hash": previous,
            "chain_format": 1,
            "key_id": "",
        }
        row["entry_hash"] = hashlib.sha256(canonical_bytes(row)).hexdigest()
        AuditEntry.objects.create(**row)
        rows.append(row)
        previous = row["entry_hash"]
    AuditHead.objects.create(patient_id=patient_id, sequence=count, entry_hash=previous)
    return rows


def test_attack_4_an_unkeyed_trail_recomputed_passes_the_chain_but_not_the_seal():
    """The red team's attack on the entries written before the key: their SHA-256
    can be recomputed by anyone; the seal written since pins their head."""
    patient_id = uuid.uuid4()
    rows = write_unkeyed_chain(patient_id, 5)
    intact, printed = verify()
    assert intact, printed  # format 1 entries still verify
    seal()
    rows[1]["reason"] = "emergency_btg : patient inconscient"
    rewrite(rows, 1, chain_format=1)
    rewind_head(patient_id, rows)
    # The chain alone cannot tell: without the seals this passes…
    shutil.move(seals_dir(), Path(settings.VAR_DIR) / "seals-away")
    assert verify()[0]
    # …with them, it does not.
    shutil.move(Path(settings.VAR_DIR) / "seals-away", seals_dir())
    intact, printed = verify()
    assert not intact
    assert (
        f"Patient {patient_id}, entrée n° 5 : l'entrée ne correspond pas au scellement" in printed
    )


# --- The application's PostgreSQL role -----------------------------------------


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_the_application_role_cannot_truncate_update_delete_or_disable_the_trigger(
    monkeypatch,
):
    """Roles set up by ``audit roles --apply``; then a real connection as the
    application's role tries each attack and is refused."""
    suffix = secrets.token_hex(4)
    app, owner = f"es_test_app_{suffix}", f"es_test_owner_{suffix}"
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("AUDIT_APP_ROLE_PASSWORD", password)
    entry = audit.record(SYSTEM, Action.LIST, uuid.uuid4())
    # Outside a transaction, verify and seal read one REPEATABLE READ snapshot.
    assert "Scellement n° 1 : 1 patient(s), 1 entrée(s)" in seal()
    assert verify()[0]
    params = connection.settings_dict
    try:
        call_command(
            "audit", "roles", "--app", app, "--owner", owner, "--apply", stdout=io.StringIO()
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [app])
            assert cursor.fetchone() == (False,)
            cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'access_auditentry'")
            assert cursor.fetchone() == (owner,)
        with psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            dbname=params["NAME"],
            user=app,
            password=password,
            autocommit=True,
        ) as as_app:
            attacks = [
                "TRUNCATE access_auditentry",
                "TRUNCATE access_auditentry CASCADE",
                "UPDATE access_auditentry SET reason = 'effacé'",
                "DELETE FROM access_auditentry",
                "ALTER TABLE access_auditentry DISABLE TRIGGER access_auditentry_append_only",
                "ALTER TABLE access_auditentry DISABLE TRIGGER ALL",
                "DROP TABLE access_auditentry CASCADE",
                "DELETE FROM access_audithead",
                "TRUNCATE access_audithead",
                "DROP TRIGGER access_auditentry_append_only ON access_auditentry",
            ]
            for attack in attacks:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    as_app.execute(attack)
            # What the service needs still works: read, add, move a head.
            assert as_app.execute("SELECT count(*) FROM access_auditentry").fetchone() == (1,)
            as_app.execute(
                "UPDATE access_audithead SET sequence = sequence WHERE patient_id = %s",
                [entry.patient_id],
            )
            as_app.execute(
                "INSERT INTO access_auditentry (id, patient_id, sequence, at, actor_kind, "
                "acting_for, action, object_type, outcome, mode, reason, request_id, "
                "previous_hash, chain_format, key_id, entry_hash) VALUES (%s, %s, 2, now(), "
                "'system', '', 'list', '', 'allowed', '', '', '', %s, 2, '', '')",
                [uuid.uuid4(), entry.patient_id, entry.entry_hash],
            )
            as_app.execute("SELECT count(*) FROM identity_person")
        assert AuditEntry.objects.count() == 2
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [owner])
            if cursor.fetchone():
                cursor.execute(f'REASSIGN OWNED BY "{owner}" TO CURRENT_USER')
                cursor.execute(f'DROP OWNED BY "{owner}"')
                cursor.execute(f'DROP ROLE "{owner}"')
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app])
            if cursor.fetchone():
                cursor.execute(f'DROP OWNED BY "{app}"')
                cursor.execute(f'DROP ROLE "{app}"')


def test_the_roles_command_prints_the_sql_or_refuses_off_postgresql():
    out = io.StringIO()
    if not POSTGRES:
        with pytest.raises(CommandError, match="PostgreSQL"):
            call_command("audit", "roles", "--app", "es_app", "--owner", "es_owner", stdout=out)
        return
    call_command("audit", "roles", "--app", "es_app", "--owner", "es_owner", stdout=out)
    printed = out.getvalue()
    assert 'GRANT SELECT, INSERT ON public."access_auditentry" TO "es_app";' in printed
    assert 'ALTER TABLE public."access_auditentry" OWNER TO "es_owner";' in printed
    with pytest.raises(CommandError, match="Nom invalide"):
        call_command("audit", "roles", "--app", 'x"; DROP', "--owner", "o", stdout=out)
