"""The patient-owned registry and its system check (architecture rule 2)."""

from django.core import checks
from django.core.management import call_command
from django.db import models
from django.test.utils import isolate_apps

from espace_sante.access.owned import (
    ALLOWED_EXCEPTIONS,
    PatientOwned,
    check_patient_owned,
    patient_owned_models,
    problems,
    stale_exceptions,
)
from espace_sante.identity.models import Person


def test_every_health_table_is_registered():
    names = {model.__name__ for model in patient_owned_models()}
    assert {
        "Document",
        "DocumentEvent",
        "SubmissionSet",
        "Measure",
        "Conversation",
        "Message",
        "Attachment",
        "PrescriptionOrder",
        "Consent",
        "AuditEntry",
        "PatientKeys",
    } <= names
    assert not names & {"Person", "Professional", "Organization", "Beneficiary", "MatrixCell"}


def test_the_real_models_pass_the_check():
    assert check_patient_owned() == []
    call_command("check", "--fail-level", "WARNING")  # registered: manage.py check runs it


def test_every_exception_has_a_reason():
    assert all(reason.strip() for reason in ALLOWED_EXCEPTIONS.values())


@isolate_apps("tests")
def test_a_table_indexed_otherwise_fails():
    class Note(PatientOwned):
        patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
        author = models.CharField(max_length=10)
        code = models.CharField(max_length=10, unique=True)
        day = models.DateField(db_index=True)

        class Meta:
            app_label = "tests"
            indexes = [
                models.Index(fields=["patient", "day"], name="note_ok"),
                models.Index(fields=["author", "patient"], name="note_author"),
            ]
            constraints = [
                models.UniqueConstraint(fields=["patient", "author"], name="note_unique_ok"),
                models.UniqueConstraint(fields=["author", "day"], name="note_unique_author"),
            ]
            unique_together = [("day", "patient")]

    found = problems(Note)
    assert {message.id for message in found} == {"access.E003"}
    text = "\n".join(message.msg for message in found)
    for culprit in ("note_author", "note_unique_author", "('day', 'patient')", "code", "day"):
        assert culprit in text
    assert "note_ok" not in text and "note_unique_ok" not in text
    assert len(found) == 5
    # A documented exception silences exactly its entry.
    assert len(problems(Note, allowed={"tests.Note:note_author": "parce que"})) == 4


@isolate_apps("tests")
def test_a_table_without_its_patient_fails():
    class Orphan(PatientOwned):
        label = models.CharField(max_length=10)

        class Meta:
            app_label = "tests"

    class Optional(PatientOwned):
        patient = models.ForeignKey(Person, null=True, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tests"

    class Renamed(PatientOwned):
        patient_field = "patient_id"
        patient_id = models.UUIDField()

        class Meta:
            app_label = "tests"
            indexes = [models.Index(fields=["patient_id", "-id"], name="renamed_ok")]

    assert [message.id for message in problems(Orphan)] == ["access.E001"]
    assert [message.id for message in problems(Optional)] == ["access.E002"]
    assert problems(Renamed) == []
    assert all(isinstance(message, checks.Error) for message in problems(Orphan))


def test_an_exception_that_excuses_nothing_is_reported():
    found = stale_exceptions({"record.Document:gone_index": "plus d'objet"})
    assert [message.id for message in found] == ["access.W001"]
    assert stale_exceptions() == []
