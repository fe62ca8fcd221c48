"""The hash chain of the audit trail: one canonical serialisation, one digest.

Kept apart from the models so that the migration that chained the entries
already written and ``audit verify`` use exactly the code ``audit.record``
uses. Changing the serialisation breaks every stored chain: add a new
``FORMAT`` instead and keep the old one for old entries.

Format 1 (entries written before issue 12): SHA-256 of the canonical bytes.
Whoever could write the table could recompute it. Format 2 (every new entry):
HMAC-SHA256 with a key kept outside the database (``audit_keys``); the bytes
also cover the format and the id of the key, which the entry stores.
"""

import hashlib
import hmac
import ipaddress
import json
import uuid
from datetime import UTC, datetime
from typing import Any, cast

FORMAT = 2  # what audit.record writes
UNKEYED_FORMAT = 1  # entries written before the chain was keyed; still verified
GENESIS = "0" * 64  # the "previous hash" of a patient's first entry

# Every stored field but the digest itself, in the order they are serialised
# (the JSON keys are sorted anyway; the list is what is covered).
HASHED_FIELDS = (
    "id",
    "patient_id",
    "sequence",
    "at",
    "actor_kind",
    "actor_user_id",
    "actor_person_id",
    "actor_professional_id",
    "actor_organization_id",
    "acting_for",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "mode",
    "reason",
    "request_id",
    "ip",
    "previous_hash",
)


UUID_FIELDS = frozenset(
    {
        "id",
        "patient_id",
        "actor_person_id",
        "actor_professional_id",
        "actor_organization_id",
        "object_id",
    }
)


def normal_ip(value: object) -> str | None:
    """One spelling per address (IPv4-mapped IPv6 unpacked), as every database returns it."""
    if value in (None, ""):
        return None
    address = ipaddress.ip_address(str(value))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def _canonical_value(name: str, value: object) -> str | int | None:
    if value is None:
        return None
    if name == "at":
        if not isinstance(value, datetime):
            raise TypeError("at must be a datetime")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if name == "ip":
        return normal_ip(value)
    if name in UUID_FIELDS:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    if name in ("sequence", "actor_user_id"):
        return int(cast(int | str, value))
    return str(value)


def format_of(fields: dict[str, Any]) -> int:
    """The chain format of an entry; a dict without ``chain_format`` is format 1."""
    return int(fields.get("chain_format") or UNKEYED_FORMAT)


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: sorted compact JSON of every field, UTF-8.

    Format 2 adds the id of the key (``key_id``); both formats carry ``format``.
    """
    data = {name: _canonical_value(name, fields.get(name)) for name in HASHED_FIELDS}
    chain_format = format_of(fields)
    if chain_format not in (UNKEYED_FORMAT, FORMAT):
        raise ValueError(f"unknown audit chain format {chain_format}")
    if chain_format >= FORMAT:
        data["key_id"] = str(fields.get("key_id") or "")
    data["format"] = chain_format
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(fields: dict[str, Any], key: bytes | None = None) -> str:
    """Format 1: SHA-256 of the canonical bytes. Format 2: their HMAC-SHA256 under ``key``."""
    data = canonical(fields)
    if format_of(fields) == UNKEYED_FORMAT:
        return hashlib.sha256(data).hexdigest()
    if not key:
        raise ValueError("a keyed audit entry needs its HMAC key")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def fields_of(entry: object) -> dict[str, Any]:
    """The hashed fields of a model instance (or of a historical model in a migration,
    which may predate ``chain_format`` and ``key_id``: format 1 then)."""
    fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
    fields["chain_format"] = getattr(entry, "chain_format", UNKEYED_FORMAT)
    fields["key_id"] = getattr(entry, "key_id", "")
    return fields
