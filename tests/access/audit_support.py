"""Helpers shared by the audit trail, history and notification tests."""

import base64
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import Actor, ActorKind, actor_for_user
from espace_sante.identity.models import Organization
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.services import NewDocument
from tests.record.conftest import make_pdf

POSTGRES = connection.vendor == "postgresql"


def pro_actor(professional, organization=None, **extra) -> Actor:
    return Actor(
        ActorKind.PROFESSIONAL,
        user_id=professional.user_id,
        professional_id=professional.id,
        organization_id=organization.id if organization else None,
        profession=professional.profession,
        **extra,
    )


def cabinet_du_parc() -> Organization:
    return Organization.objects.get(name="Cabinet médical du Parc")


def add_document(personas, title="Bilan sanguin", **meta) -> Document:
    return documents.add_document(
        actor_for_user(personas.mother.user),
        personas.mother,
        SimpleUploadedFile("analyse.pdf", make_pdf()),
        NewDocument(
            title=title,
            type_code=meta.pop("type_code", "DOCPAT03"),
            source=meta.pop("source", Document.Source.PATIENT),
            **meta,
        ),
    )


def verify(patient=None) -> tuple[bool, str]:
    """Run ``espace-sante audit verify``: (intact?, what it printed)."""
    out, err = io.StringIO(), io.StringIO()
    args = ["audit", "verify"] + (["--patient", str(patient.id)] if patient else [])
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as error:
        return False, err.getvalue() + str(error)
    return True, out.getvalue()


def db_value(field_name: str, value):
    """A Python value as the database column stores it (UUIDs are hex text on SQLite)."""
    return AuditEntry._meta.get_field(field_name).get_db_prep_value(value, connection)


def tamper(sql: str, params=()) -> None:
    """Change the table behind the service's back, as an intruder with SQL would.

    On PostgreSQL the append-only trigger has to be switched off first (which
    takes the table owner's rights); it is switched on again afterwards.
    """
    with connection.cursor() as cursor:
        if POSTGRES:
            cursor.execute(
                "ALTER TABLE access_auditentry DISABLE TRIGGER access_auditentry_append_only"
            )
        cursor.execute(sql, params)
        if POSTGRES:
            # Deferred foreign-key checks (access reports point at entries) must
            # run before the table can be altered again.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE access_auditentry ENABLE TRIGGER access_auditentry_append_only"
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


only_postgres = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL seulement (trigger, verrous)")


def hmac_key(key_id: str) -> bytes:
    """A key of the audit keyring, read from the file itself (var/keys/audit_hmac.json),
    not through the code under test."""
    path = Path(settings.VAR_DIR) / "keys" / "audit_hmac.json"
    return base64.b64decode(json.loads(path.read_text())["keys"][key_id])
