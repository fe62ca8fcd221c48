"""Deposits by software: duplicates and replacement decided by the record; batches all or none."""

import io

import pytest

from espace_sante.access.policy import actor_for_user
from espace_sante.record.documents import services
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.services import NewDocument
from espace_sante.record.documents.uploads import UploadRefused

from .conftest import make_pdf

pytestmark = pytest.mark.django_db


def files(root):
    return [p for p in root.rglob("*") if p.is_file()]


def meta(personas, master="", **more):
    more.setdefault("author_professional", personas.gp)
    return NewDocument(
        title="Compte rendu",
        type_code="11490-0",
        source=Document.Source.PROFESSIONAL,
        master_identifier=master,
        **more,
    )


@pytest.fixture
def gp(personas):
    return actor_for_user(personas.gp.user)


def test_a_document_sent_twice_comes_back_once(personas, gp, blob_dir):
    first = services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas, "id-1"))
    again = services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas, "id-1"))
    assert first.created and not again.created
    assert again.document.pk == first.document.pk
    assert Document.objects.filter(patient=personas.mother).count() == 1
    assert len(files(blob_dir)) == 1


def test_another_depositors_identifier_is_refused_without_saying_whose(personas, gp, blob_dir):
    services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas, "id-1"))
    other = actor_for_user(personas.hospital_doctor.user)
    with pytest.raises(UploadRefused) as refused:
        services.deposit(
            other,
            personas.mother,
            io.BytesIO(make_pdf()),
            meta(personas, "id-1", author_professional=personas.hospital_doctor),
        )
    assert refused.value.code == "duplicate_other"


def test_a_replacement_supersedes_the_depositors_own_document_only(personas, gp, blob_dir):
    first = services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas, "v1"))
    second = services.deposit(
        gp,
        personas.mother,
        io.BytesIO(make_pdf()),
        meta(personas, "v2"),
        replaces_id=str(first.document.id),
    )
    assert second.document.replaces_id == first.document.id
    assert Document.objects.get(pk=first.document.pk).status == Document.Status.SUPERSEDED
    for unknown in ("", "pas-un-uuid"):
        with pytest.raises(UploadRefused) as refused:
            services.deposit(
                gp, personas.mother, io.BytesIO(make_pdf()), meta(personas), replaces_id=unknown
            )
        assert refused.value.code == "replaced_unknown"
    assert len(files(blob_dir)) == 2


def test_a_failed_row_write_leaves_no_blob(personas, gp, blob_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(Document.objects, "create", broken)
    with pytest.raises(RuntimeError, match="database unavailable"):
        services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas))
    assert files(blob_dir) == []


def test_a_failed_batch_keeps_neither_rows_nor_blobs(personas, gp, blob_dir):
    with pytest.raises(ZeroDivisionError), services.deposit_batch():
        services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas, "a"))
        services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas, "b"))
        assert len(files(blob_dir)) == 2
        1 / 0  # noqa: B018 - any failure after the deposits
    assert not Document.objects.filter(patient=personas.mother).exists()
    assert files(blob_dir) == []


def test_a_batch_that_succeeds_keeps_everything(personas, gp, blob_dir):
    with services.deposit_batch(), services.deposit_batch():  # nested: the outer one decides
        services.deposit(gp, personas.mother, io.BytesIO(make_pdf()), meta(personas, "a"))
    assert Document.objects.filter(patient=personas.mother).count() == 1
    assert len(files(blob_dir)) == 1
