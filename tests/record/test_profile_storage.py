"""The host cannot read the profile: nothing of its content is in clear in the database."""

import pytest
from django.apps import apps
from django.db import connection

from espace_sante.record.profile import services
from espace_sante.record.profile.encrypted import ProfileEntry

from .profile_support import MARKED, MARKER, actor

pytestmark = pytest.mark.django_db

# Values that are content too and must not appear anywhere in clear.
SECRET_NUMBERS = ["187.3", "187,3", "143.7"]
SECRET_CODES = ["mammographie", "AB-", "moteur", "confiance", "refuse", "X9Y8Z7", "marqueur-secret-42@example"]


def profile_tables() -> list[str]:
    models = [
        model
        for model in apps.get_app_config("record").get_models()
        if issubclass(model, ProfileEntry)
    ]
    assert len(models) == 14
    return [model._meta.db_table for model in models]


def every_cell(table: str):
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 (table names from our models)
        columns = [column[0] for column in cursor.description]
        for row in cursor.fetchall():
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, memoryview):
                    value = bytes(value)
                if isinstance(value, bytes):
                    yield column, value
                elif value is not None:
                    yield column, str(value).encode()


def stored_in_clear(needle: bytes, value: bytes) -> bool:
    """The needle in a cell: anywhere when long; when short (« AB- »), as the whole cell
    or as a JSON string, since three random bytes turn up in ciphertext now and then."""
    if len(needle) >= 8:
        return needle in value
    return value.strip() == needle or b'"' + needle + b'"' in value


def fill_everything(patient) -> None:
    me = actor(patient)
    for key, data in MARKED.items():
        services.add_entry(me, patient, key, data)
    services.set_lifestyle(me, patient, {name: MARKER for name in ("food", "sleep", "tobacco")})
    services.set_blood_group(me, patient, "AB-")
    services.set_organ_donation(me, patient, "refuse")
    services.add_measure(me, patient, "29463-7", {"value": "187,3", "date": "2025-01-02"})
    services.add_measure(
        me, patient, "85354-9", {"value": "143,7", "second_value": "91", "date": "2025-01-02"}
    )
    services.set_measure_target(me, patient, "29463-7", {"value": "187,3"})
    services.add_entry(
        me, patient, "treatments", {"name": MARKER, "cip_code": "3400930000007", "dosage": ""}
    )
    services.add_entry(
        me,
        patient,
        "vaccinations",
        {"vaccine": "ROR", "vaccinated_on": "2024-01-01", "lot_number": "X9Y8Z7"},
    )


def test_no_profile_content_is_stored_in_clear(personas):
    marie = personas.mother
    fill_everything(marie)
    needles = [MARKER.encode(), MARKER.lower().encode(), b"3400930000007"]
    needles += [text.encode() for text in SECRET_NUMBERS + SECRET_CODES]
    scanned = 0
    for table in profile_tables():
        for column, value in every_cell(table):
            scanned += 1
            for needle in needles:
                found = stored_in_clear(needle, value)
                assert not found, f"{needle!r} en clair dans {table}.{column}"
    assert scanned > 100
    # The audit trail names objects, never their content.
    for column, value in every_cell("access_auditentry"):
        assert MARKER.encode() not in value, column


def test_every_content_column_is_a_ciphertext_and_reads_back(personas):
    marie = personas.mother
    fill_everything(marie)
    for model in apps.get_app_config("record").get_models():
        if not issubclass(model, ProfileEntry):
            continue
        clear = {
            field.name
            for field in model._meta.concrete_fields
            if not field.name.endswith("_encrypted")
        }
        # Only what lists sort and filter on stays in clear.
        assert clear <= {
            "id",
            "patient",
            "created_at",
            "updated_at",
            "start_date",
            "end_date",
            "vaccinated_on",
            "done_on",
            "recorded_by",
            "author_professional",
            "code",
            "measured_at",
            "author",
        }, (model, clear)
        for row in model.objects.filter(patient=marie):
            for name in model._encrypted_fields:
                ciphertext = bytes(getattr(row, f"{name}_encrypted"))
                assert len(ciphertext) >= 28  # nonce + tag: even "" is encrypted
                getattr(row, name)  # decrypts with its own row and field
    assert services.list_section(actor(marie), marie, "allergies")[0].substance == MARKER
