"""The hash chain of the audit trail: one canonical serialisation, one digest.

Kept apart from the models so that the migration that chained the entries
already written and ``audit verify`` use exactly the code ``audit.record``
uses. Changing the serialisation breaks every stored chain: add a new
``FORMAT`` instead and keep the old one for old entries.
"""

import hashlib
import ipaddress
import json
import uuid
from datetime import UTC, datetime
from typing import Any, cast

FORMAT = 1
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


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: sorted compact JSON of every field, UTF-8."""
    data = {name: _canonical_value(name, fields.get(name)) for name in HASHED_FIELDS}
    data["format"] = FORMAT
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def fields_of(entry: object) -> dict[str, Any]:
    """The hashed fields of a model instance (or of a historical model in a migration)."""
    return {name: getattr(entry, name) for name in HASHED_FIELDS}
