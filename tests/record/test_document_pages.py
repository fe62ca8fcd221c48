"""The Documents pages, through the web door."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.record.documents.models import Document

from .conftest import make_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, personas):
    client.force_login(personas.mother.user)
    return client


def post_upload(client, content=None, name="ordonnance.pdf", **extra):
    data = {
        "file": SimpleUploadedFile(name, content if content is not None else make_pdf()),
        "title": "Ordonnance du Dr Martin",
        "category": "ORD_SOIN",
        "document_date": "2026-10-02",
    }
    data.update(extra)
    return client.post("/documents/ajouter/", data)


def test_the_patient_uploads_then_finds_opens_and_downloads_her_document(
    signed_in, personas, blob_dir
):
    content = make_pdf()
    response = post_upload(signed_in, content)
    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/documents/{document.id}/"

    listing = signed_in.get("/documents/")
    text = listing.content.decode()
    assert "Ordonnance du Dr Martin" in text
    assert "Ordonnances et soins (1)" in text
    assert "no-store" in listing["Cache-Control"]

    detail = signed_in.get(f"/documents/{document.id}/")
    assert "Ordonnance du Dr Martin" in detail.content.decode()

    opened = signed_in.get(f"/documents/{document.id}/contenu/")
    assert opened["Content-Type"] == "application/pdf"
    assert opened["Content-Disposition"].startswith("inline;")
    assert opened["Cache-Control"] == "no-store"
    assert b"".join(opened.streaming_content) == content

    downloaded = signed_in.get(f"/documents/{document.id}/telecharger/")
    assert downloaded["Content-Disposition"].startswith("attachment;")
    assert b"".join(downloaded.streaming_content) == content


def test_a_refused_file_shows_a_french_reason_and_keeps_the_form(signed_in, blob_dir):
    response = post_upload(signed_in, b"MZ\x90\x00binaire", name="virus.exe")
    assert response.status_code == 400
    text = response.content.decode()
    assert "type de fichier n&#x27;est pas accepté" in text
    assert 'value="Ordonnance du Dr Martin"' in text  # nothing to type again
    assert Document.objects.count() == 0


def test_the_upload_script_gets_json_answers(signed_in, blob_dir):
    ok = signed_in.post(
        "/documents/ajouter/",
        {"file": SimpleUploadedFile("a.pdf", make_pdf()), "title": "A", "category": "BIOLOGIE"},
        headers={"Accept": "application/json"},
    )
    assert ok.status_code == 201 and ok.json()["redirect"].startswith("/documents/")
    refused = signed_in.post(
        "/documents/ajouter/",
        {"file": SimpleUploadedFile("a.pdf", b""), "title": "A", "category": "BIOLOGIE"},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 400
    assert refused.json()["errors"]


def test_a_future_date_is_refused(signed_in, blob_dir):
    response = post_upload(signed_in, document_date="2999-01-01")
    assert "futur" in response.content.decode()
    assert Document.objects.count() == 0


def test_the_patient_renames_recategorises_and_redates_her_document(signed_in, blob_dir):
    post_upload(signed_in)
    document = Document.objects.get()
    response = signed_in.post(
        f"/documents/{document.id}/modifier/",
        {"title": "Kiné genou", "category": "CPT_REND", "document_date": "2025-12-01"},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.category == "CPT_REND" and document.type_code == "DOCPAT03"
    assert document.document_date.date().isoformat() == "2025-12-01"
    assert "Kiné genou" in signed_in.get("/documents/").content.decode()


def test_masking_and_unmasking_from_professionals(signed_in, blob_dir):
    post_upload(signed_in)
    document = Document.objects.get()
    signed_in.post(f"/documents/{document.id}/masquer/", {"masked": "1"})
    document.refresh_from_db()
    assert document.masked_from_professionals
    assert "Masqué aux professionnels" in signed_in.get("/documents/").content.decode()
    signed_in.post(f"/documents/{document.id}/masquer/", {"masked": "0"})
    document.refresh_from_db()
    assert not document.masked_from_professionals


def test_deleting_asks_for_confirmation_first(signed_in, blob_dir):
    post_upload(signed_in)
    document = Document.objects.get()
    confirm = signed_in.get(f"/documents/{document.id}/supprimer/")
    assert "Voulez-vous vraiment supprimer" in confirm.content.decode()
    assert Document.objects.count() == 1
    response = signed_in.post(f"/documents/{document.id}/supprimer/")
    assert response.status_code == 302
    assert Document.objects.count() == 0


def test_someone_else_gets_a_plain_404_for_every_document_page(client, personas, blob_dir):
    client.force_login(personas.mother.user)
    post_upload(client)
    document = Document.objects.get()
    for user in (personas.elder.user, personas.gp.user):
        client.force_login(user)
        for suffix in ("", "contenu/", "telecharger/", "modifier/", "supprimer/"):
            assert client.get(f"/documents/{document.id}/{suffix}").status_code in (404, 302)
        assert client.post(f"/documents/{document.id}/masquer/", {"masked": "1"}).status_code in (
            404,
            302,
        )
    document.refresh_from_db()
    assert not document.masked_from_professionals


def test_the_list_filters_by_category_and_searches_titles(signed_in, blob_dir):
    post_upload(signed_in, title="Ordonnance kiné", category="ORD_SOIN")
    post_upload(signed_in, title="Radio du genou", category="RADIO_SC")
    text = signed_in.get("/documents/?category=RADIO_SC").content.decode()
    assert "Radio du genou" in text and "Ordonnance kiné" not in text
    text = signed_in.get("/documents/?q=kiné").content.decode()
    assert "Ordonnance kiné" in text and "Radio du genou" not in text
    text = signed_in.get("/documents/?q=introuvable").content.decode()
    assert "Aucun document ne correspond" in text


def test_new_documents_are_marked_until_opened(signed_in, personas, blob_dir):
    from espace_sante.access.policy import SYSTEM

    from .test_documents import deposit

    report = deposit(
        SYSTEM,
        personas.mother,
        make_pdf(),
        title="Compte rendu d'IRM",
        type_code="18748-4",
        source=Document.Source.PROFESSIONAL,
    )
    assert "Nouveau" in signed_in.get("/documents/").content.decode()
    signed_in.get(f"/documents/{report.id}/")
    assert "Nouveau" not in signed_in.get("/documents/").content.decode()


def test_the_documents_page_costs_the_same_queries_for_2_or_12_documents(
    client, personas, blob_dir
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(personas.mother.user)

    def queries_for_listing() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/documents/").status_code == 200
        return len(captured)

    for _ in range(2):
        post_upload(client)
    few = queries_for_listing()
    for _ in range(10):
        post_upload(client)
    assert queries_for_listing() == few


def make_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _reads(patient_id, document_id):
    from espace_sante.access.models import AuditEntry

    return AuditEntry.objects.filter(
        patient_id=patient_id, action="read", object_id=document_id, outcome="allowed"
    ).count()


def test_opening_a_document_once_writes_one_read_in_her_history(signed_in, personas, blob_dir):
    """The page and the image it shows are one opening: one line in « Historique »."""
    post_upload(signed_in, make_png(), name="radio.png", title="Radio du genou")
    document = Document.objects.get()
    page = signed_in.get(f"/documents/{document.id}/").content.decode()
    embedded = re.search(r'<img[^>]+src="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "ouverture=" in embedded
    shown = signed_in.get(embedded)
    assert shown.status_code == 200 and b"".join(shown.streaming_content)
    assert _reads(personas.mother.id, document.id) == 1

    # Opened again later, without the page: a new opening, a new line.
    signed_in.get(f"/documents/{document.id}/contenu/")
    assert _reads(personas.mother.id, document.id) == 2


def test_a_mark_of_another_opening_does_not_hide_a_read(signed_in, client, personas, blob_dir):
    post_upload(signed_in, make_png(), name="radio.png", title="Radio du genou")
    document = Document.objects.get()
    page = signed_in.get(f"/documents/{document.id}/").content.decode()
    mark = re.search(r"ouverture=([^\"&]+)", page).group(1)
    forged = signed_in.get(f"/documents/{document.id}/contenu/?ouverture={mark}x")
    assert forged.status_code == 200
    assert _reads(personas.mother.id, document.id) == 2

    # Someone else holding her mark is still refused by the policy (and traced).
    client.force_login(personas.elder.user)
    assert client.get(f"/documents/{document.id}/contenu/?ouverture={mark}").status_code == 404


def pixel_flood_png(width: int, height: int) -> bytes:
    """A valid PNG announcing width × height black pixels, compressed to a few kilobytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    rows = (b"\x00" + bytes((width + 7) // 8)) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def test_a_small_png_of_169_million_pixels_is_refused_before_it_is_decoded(signed_in, blob_dir):
    flood = pixel_flood_png(13_000, 13_000)
    assert len(flood) < 600_000  # what the red team sent: under 500 KB
    response = post_upload(signed_in, flood, name="radio.png", title="Radio")
    assert response.status_code == 400
    page = response.content.decode()
    assert "13000 × 13000 pixels" in page and "50 millions de pixels" in page
    assert not Document.objects.exists()


def test_an_image_of_a_billion_pixels_is_refused_too(signed_in, blob_dir):
    response = post_upload(signed_in, pixel_flood_png(40_000, 25_000), name="c.png", title="C")
    assert response.status_code == 400
    assert "50 millions de pixels" in response.content.decode()


def test_a_photo_of_60_million_pixels_is_refused_and_one_of_24_million_kept(signed_in, blob_dir):
    # Pillow lets both through without a word; the limit is the service's own.
    refused = post_upload(signed_in, pixel_flood_png(10_000, 6_000), name="a.png", title="A")
    assert refused.status_code == 400 and "trop grande" in refused.content.decode()
    kept = post_upload(signed_in, pixel_flood_png(6_000, 4_000), name="b.png", title="B")
    assert kept.status_code == 302
    assert Document.objects.count() == 1


def test_a_title_disguising_its_end_is_refused_and_the_form_kept(signed_in, blob_dir):
    response = post_upload(signed_in, title="ordonnance\u202efdp.exe")
    assert response.status_code == 400
    text = response.content.decode()
    assert "inversion du sens" in text
    assert 'value="ordonnance' in text  # nothing to type again
    assert Document.objects.count() == 0


def test_a_rename_hiding_a_control_character_is_refused(signed_in, blob_dir):
    post_upload(signed_in)
    document = Document.objects.get()
    response = signed_in.post(
        f"/documents/{document.id}/modifier/",
        {"title": "Kiné\u0007 genou", "category": "CPT_REND", "document_date": "2025-12-01"},
    )
    assert "caractère de contrôle" in response.content.decode()
    assert "Kiné" not in signed_in.get("/documents/").content.decode()
