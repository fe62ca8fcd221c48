"""The purge's tables come from the patient-owned registry, children first."""

import pytest
from django.utils import timezone

from espace_sante.access.owned import patient_owned_models
from espace_sante.enrollment.purge import purge_patient_data, purged_models
from espace_sante.record.documents.models import Document


def test_the_purge_deletes_every_patient_owned_table_but_those_kept_with_a_reason():
    purged = set(purged_models())
    kept = {model.__name__ for model in set(patient_owned_models()) - purged}
    assert kept == {"AuditEntry", "AuditHead", "AccessNotification", "PatientKeys"}
    assert all(model.kept_after_closing for model in patient_owned_models() if model not in purged)
    assert {model.__name__ for model in purged} >= {"Document", "SubmissionSet", "Measure"}


def test_rows_go_before_the_rows_they_point_at():
    order = [model.__name__ for model in purged_models()]
    for child, parent in [
        ("Attachment", "Message"),
        ("Message", "Conversation"),
        ("PrescriptionOrder", "Conversation"),
        ("DocumentEvent", "Document"),
    ]:
        assert order.index(child) < order.index(parent), (child, parent)


def _document(patient, name, replaces=None):
    return Document.objects.create(
        patient=patient,
        type_code="DOCPAT05",
        class_code="11",
        category="patient",
        title_encrypted=b"x",
        format_code="urn:ihe:iti:xds:2017:mimeTypeSufficient",
        mime_type="application/pdf",
        size=1,
        sha256="0" * 64,
        blob_name=name,
        source=Document.Source.PATIENT,
        document_date=timezone.now(),
        replaces=replaces,
    )


@pytest.mark.django_db
def test_a_replaced_document_is_purged_with_its_successor(personas):
    mother, father = personas.mother, personas.elder
    first = _document(mother, "a")
    _document(mother, "b", replaces=first)
    _document(father, "c")
    purge_patient_data(mother)
    assert not Document.objects.filter(patient=mother).exists()
    assert Document.objects.filter(patient=father).count() == 1
