"""Documents: stored encrypted and durable, read back only by the titulaire."""

import io
import shutil
import tracemalloc

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, connection

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import SYSTEM, Action, NotAllowed, actor_for_user
from espace_sante.crypto import services as crypto
from espace_sante.crypto.services import CryptoError
from espace_sante.record.documents import services
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.services import NewDocument
from espace_sante.record.documents.uploads import UploadRefused

from .conftest import make_pdf

pytestmark = pytest.mark.django_db
MARKER = "MARQUEUR-CONFIDENTIEL-7731"


def upload(name, content: bytes):
    return SimpleUploadedFile(name, content)


def deposit(actor, patient, content: bytes, *, title="Mon document", name="doc.pdf", **meta):
    return services.add_document(
        actor,
        patient,
        upload(name, content),
        NewDocument(
            title=title,
            type_code=meta.pop("type_code", "DOCPAT03"),
            source=meta.pop("source", Document.Source.PATIENT),
            **meta,
        ),
    )


@pytest.fixture
def mother(personas):
    return actor_for_user(personas.mother.user)


def test_the_titulaire_deposits_a_document_and_reads_back_the_same_bytes(
    personas, mother, blob_dir
):
    content = make_pdf("Résultats")
    document = deposit(mother, personas.mother, content, title="Prise de sang de mars")
    assert document.mime_type == "application/pdf"
    assert document.category == "CPT_REND" and document.class_code == "90"
    assert document.size == len(content)
    opened = services.access_document(mother, document.id)
    assert services.read_content(opened) == content
    assert services.document_title(opened) == "Prise de sang de mars"
    actions = list(
        AuditEntry.objects.filter(patient_id=personas.mother.id, object_type="document")
        .order_by("at")
        .values_list("action", flat=True)
    )
    assert actions == [Action.CREATE, Action.READ]


def test_nothing_is_readable_in_clear_in_the_database_or_the_blobs(personas, mother, blob_dir):
    text = f"Bilan : {MARKER}\n".encode() * 200
    deposit(mother, personas.mother, text, title=f"Titre {MARKER}", name="note.txt")
    marker = MARKER.encode()
    for path in blob_dir.rglob("*"):
        if path.is_file():
            assert marker not in path.read_bytes()
    # Every column of every table, as the database returns it.
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            if table not in connection.introspection.table_names(cursor):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    raw = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value)
                    needle = marker if isinstance(raw, bytes) else MARKER
                    assert needle not in raw, f"{MARKER} en clair dans {table}"


def test_one_changed_byte_in_a_blob_is_detected(personas, mother, blob_dir):
    document = deposit(mother, personas.mother, make_pdf())
    path = blob_dir / document.blob_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CryptoError):
        services.read_content(document)


def test_a_blob_copied_onto_another_document_does_not_decrypt(personas, mother, blob_dir):
    first = deposit(mother, personas.mother, make_pdf("A"))
    second = deposit(mother, personas.mother, make_pdf("B"))
    shutil.copyfile(blob_dir / first.blob_name, blob_dir / second.blob_name)
    with pytest.raises(CryptoError):
        services.read_content(second)


def test_a_blob_of_another_patient_does_not_decrypt(personas, mother, blob_dir):
    mine = deposit(mother, personas.mother, make_pdf("A"))
    elder = actor_for_user(personas.elder.user)
    theirs = deposit(elder, personas.elder, make_pdf("B"))
    shutil.copyfile(blob_dir / mine.blob_name, blob_dir / theirs.blob_name)
    with pytest.raises(CryptoError):
        services.read_content(theirs)


def test_rotating_the_key_encryption_key_keeps_every_document_readable(personas, mother, blob_dir):
    content = make_pdf()
    document = deposit(mother, personas.mother, content)
    blob_before = (blob_dir / document.blob_name).read_bytes()
    call_command("keys", "rotate", stdout=io.StringIO())
    crypto_document = Document.objects.get(pk=document.pk)
    assert services.read_content(crypto_document) == content
    assert services.document_title(crypto_document) == "Mon document"
    assert (blob_dir / document.blob_name).read_bytes() == blob_before


def test_shredding_the_keys_makes_the_documents_unreadable_forever(personas, mother, blob_dir):
    document = deposit(mother, personas.mother, make_pdf())
    elder = actor_for_user(personas.elder.user)
    other = deposit(elder, personas.elder, make_pdf())
    crypto.shred(personas.mother)
    with pytest.raises(CryptoError):
        services.read_content(document)
    with pytest.raises(CryptoError):
        services.document_title(document)
    assert services.read_content(other)  # other patients are untouched


def test_a_failed_upload_leaves_neither_row_nor_blob(personas, mother, blob_dir):
    deposit(mother, personas.mother, make_pdf(), master_identifier="producteur-1")
    with pytest.raises(IntegrityError):
        deposit(mother, personas.mother, make_pdf(), master_identifier="producteur-1")
    assert Document.objects.count() == 1
    assert len([p for p in blob_dir.rglob("*") if p.is_file()]) == 1


def test_a_blob_left_by_a_crash_is_swept_and_documents_are_kept(personas, mother, blob_dir):
    kept = deposit(mother, personas.mother, make_pdf())
    orphan = blob_dir / "patients" / str(personas.mother.id) / "orphelin.bin"
    orphan.write_bytes(b"reste d'un envoi interrompu")
    assert services.sweep_orphan_blobs(older_than_seconds=3600) == 0  # too recent: maybe in flight
    assert services.sweep_orphan_blobs(older_than_seconds=0) == 1
    assert not orphan.exists()
    assert services.read_content(kept)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("vide.pdf", b"", "vide"),
        ("script.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "type de fichier"),
        ("casse.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "endommagé"),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00tronquee", "endommagée"),
        ("page.html", b"<!DOCTYPE html><script>alert(1)</script>", "type de fichier"),
    ],
)
def test_bad_files_are_refused_with_a_french_reason(
    personas, mother, blob_dir, name, content, message
):
    with pytest.raises(UploadRefused) as refusal:
        deposit(mother, personas.mother, content, name=name)
    assert message in refusal.value.messages[0]
    assert Document.objects.count() == 0
    assert not [p for p in blob_dir.rglob("*") if p.is_file()]


def test_the_type_comes_from_the_bytes_and_a_name_that_says_otherwise_is_refused(
    personas, mother, blob_dir
):
    # The extension is what the sender declared: refused, never silently corrected.
    with pytest.raises(UploadRefused) as refusal:
        deposit(mother, personas.mother, make_pdf(), name="photo.jpg")
    assert "extension .jpg (JPEG)" in refusal.value.messages[0]
    assert "PDF" in refusal.value.messages[0]
    assert Document.objects.count() == 0
    # A name that announces nothing (no extension, or one we do not know) lets the bytes decide.
    for name in ("scan", "Compte rendu du 12.03", "notes.md"):
        content = make_pdf() if name != "notes.md" else b"Notes"
        document = deposit(mother, personas.mother, content, name=name)
        assert document.mime_type == ("text/plain" if name == "notes.md" else "application/pdf")


def test_an_encrypted_pdf_is_refused(personas, mother, blob_dir):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf())))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UploadRefused) as refusal:
        deposit(mother, personas.mother, buffer.getvalue())
    assert "mot de passe" in refusal.value.messages[0]


def test_patients_are_limited_to_five_megabytes(personas, mother, blob_dir, settings):
    too_big = b"a" * (settings.RECORD_PATIENT_MAX_BYTES + 1)
    with pytest.raises(UploadRefused) as refusal:
        deposit(mother, personas.mother, too_big, name="long.txt")
    assert "5 Mo" in refusal.value.messages[0]


def test_a_five_megabyte_upload_is_not_held_twice_in_memory(
    personas, mother, blob_dir, settings, tmp_path
):
    size = 5 * 1000 * 1000
    path = tmp_path / "grand.txt"
    path.write_bytes(b"ligne de compte rendu\n" * (size // 22))
    crypto.ensure_keys(personas.mother)
    with path.open("rb") as handle:
        tracemalloc.start()
        document = services.add_document(
            mother,
            personas.mother,
            handle,
            NewDocument(title="Grand", type_code="DOCPAT03", source=Document.Source.PATIENT),
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert document.size == path.stat().st_size
    assert peak < size, f"pic mémoire {peak / 1e6:.1f} Mo pour un fichier de 5 Mo"


def test_another_citizen_or_an_unrelated_professional_cannot_read_and_is_traced(
    personas, mother, blob_dir
):
    document = deposit(mother, personas.mother, make_pdf())
    for user in (personas.elder.user, personas.hospital_doctor.user):
        with pytest.raises(NotAllowed):
            services.access_document(actor_for_user(user), document.id)
    refusals = AuditEntry.objects.filter(patient_id=personas.mother.id, outcome="denied")
    assert refusals.count() == 2
    with pytest.raises(NotAllowed):
        services.access_document(actor_for_user(personas.elder.user), "pas-un-uuid")


def test_a_document_hidden_from_the_patient_is_neither_listed_nor_opened(
    personas, mother, blob_dir
):
    hidden = deposit(
        SYSTEM,
        personas.mother,
        make_pdf(),
        type_code="11502-2",
        source=Document.Source.PROFESSIONAL,
        invisible_patient=True,
    )
    assert services.list_documents(mother, personas.mother.id) == []
    with pytest.raises(NotAllowed):
        services.access_document(mother, hidden.id)


def test_on_a_professional_document_the_patient_may_only_mask(personas, mother, blob_dir):
    report = deposit(
        SYSTEM,
        personas.mother,
        make_pdf(),
        type_code="18748-4",
        source=Document.Source.PROFESSIONAL,
        author_professional=personas.hospital_doctor,
    )
    services.set_masked(mother, report, True)
    assert Document.objects.get(pk=report.pk).masked_from_professionals
    with pytest.raises(NotAllowed):
        services.update_document(mother, report, title="Autre titre")
    with pytest.raises(NotAllowed):
        services.delete_document(mother, report)


def test_listing_filters_by_category_period_and_title(personas, mother, blob_dir):
    from datetime import date

    deposit(
        mother,
        personas.mother,
        make_pdf(),
        title="Ordonnance kiné",
        type_code="DOCPAT02",
        document_date=date(2026, 1, 10),
    )
    deposit(
        mother,
        personas.mother,
        make_pdf(),
        title="Radio du genou",
        type_code="DOCPAT04",
        document_date=date(2020, 6, 1),
    )
    listed = services.list_documents(mother, personas.mother.id)
    assert [item.title for item in listed] == ["Ordonnance kiné", "Radio du genou"]
    assert [
        i.title for i in services.list_documents(mother, personas.mother.id, category="RADIO_SC")
    ] == ["Radio du genou"]
    assert [
        i.title for i in services.list_documents(mother, personas.mother.id, since=date(2025, 1, 1))
    ] == ["Ordonnance kiné"]
    assert [
        i.title for i in services.list_documents(mother, personas.mother.id, search="GENOU")
    ] == ["Radio du genou"]


def test_deleting_removes_the_row_and_the_blob(
    personas, mother, blob_dir, django_capture_on_commit_callbacks
):
    document = deposit(mother, personas.mother, make_pdf())
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_document(mother, document)
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not (blob_dir / document.blob_name).exists()
