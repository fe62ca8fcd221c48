"""Hostile files pushed through every web upload door (issue 12, « Trust under attack »).

Pixel floods, decompression bombs, polyglots, markup: each is made here, sent
as a citizen, a professional on the portal, and in messaging (both sides),
and must be refused before anything expensive happens, with a French reason,
leaving no row and no file behind. What is accepted (a bomb within the
limits, a polyglot whose real type we take) is served with its real type,
never sniffed, sandboxed. Each check prints its time and peak memory
(``pytest -s``); nothing asserts on them (bench/hostile.py measures larger).

The FHIR doors are in test_hostile_fhir.py, the browser in tests/e2e/test_hostile_documents.py.
"""

import functools
import io
import time
import zipfile
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from espace_sante.access.policy import actor_for_user
from espace_sante.messaging import services as messaging
from espace_sante.messaging.models import Attachment, Message
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.uploads import UploadRefused
from tests.messaging.conftest import pro_actor
from tests.portal.test_portal import signed_in_professional
from tests.record.conftest import make_pdf

from . import hostile_files as hostile

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Hostile:
    name: str  # the file name sent (its extension is a declaration too)
    build: object  # () -> bytes, cached: some take a second to make
    refusal: str  # what the French message must say
    # What it says to professionals when it differs (they may send XML: CDA).
    professional_refusal: str = ""

    @property
    def data(self) -> bytes:
        return _built(self.build)


@functools.cache
def _built(build) -> bytes:
    return build()


# The limit is 50 million pixels (RECORD_IMAGE_MAX_PIXELS).
TOO_BIG = "trop grande"
NOT_ACCEPTED = "type de fichier n'est pas accepté"

REFUSED = {
    # Pixel floods: a few hundred bytes or KB that would decode to gigabytes.
    "png-13000x13000": Hostile("scan.png", lambda: hostile.png(13000, 13000), TOO_BIG),
    "jpeg-65000x65000": Hostile("photo.jpg", lambda: hostile.jpeg_declaring(65000, 65000), TOO_BIG),
    "jpeg-9000x9000": Hostile("photo.jpg", lambda: hostile.jpeg_declaring(9000, 9000), TOO_BIG),
    "tiff-100000x100000": Hostile("scan.tif", lambda: hostile.tiff(100000, 100000), TOO_BIG),
    "tiff-2-pages-6000x6000": Hostile(
        "scan.tif", lambda: hostile.tiff(6000, 6000, pages=2), "2 pages"
    ),
    # 20,000 empty pages (2.5 MB): counting them took 5.6 s, so at most 1,000.
    "tiff-20000-pages": Hostile("scan.tif", lambda: hostile.tiff(1, 1, pages=20000), "1000 pages"),
    "apng-20-frames-2000x2000": Hostile(
        "anim.png", lambda: hostile.png(2000, 2000, frames=20), "20 pages"
    ),
    # GIF is not one of the accepted formats, whatever its size.
    "gif-65535x65535": Hostile(
        "anim.gif", lambda: hostile.gif_declaring(65535, 65535), NOT_ACCEPTED
    ),
    "gif-small": Hostile("anim.gif", hostile.gif, NOT_ACCEPTED),
    # Markup that would run in our origin if it were ever served as a page.
    "svg-script": Hostile(
        "dessin.svg", lambda: hostile.SVG, NOT_ACCEPTED, "extension .svg (image SVG)"
    ),
    "html-script": Hostile("page.html", lambda: hostile.HTML, NOT_ACCEPTED),
    "html-then-pdf": Hostile(
        "document.pdf", lambda: hostile.html_then_pdf(make_pdf()), NOT_ACCEPTED
    ),
    # A PDF that runs JavaScript when opened (/OpenAction) and on its page (/AA):
    # Chromium's viewer runs it despite the sandbox policy (tests/e2e/test_hostile_documents.py).
    "pdf-javascript": Hostile("cr.pdf", hostile.pdf_with_javascript, "JavaScript"),
    # 60,000 objects where scripts could hide: looked through up to 50,000.
    "pdf-60000-objects": Hostile(
        "cr.pdf", lambda: hostile.pdf_with_many_objects(60_000), "trop complexe"
    ),
    # A PDF whose page tree is in an object stream inflating to 200 MB.
    "pdf-objstm-bomb-200mb": Hostile(
        "cr.pdf", lambda: hostile.pdf_object_stream_bomb(200), "démesurées"
    ),
    # Declared (by the extension) as one type, made of another.
    "pdf-named-jpg": Hostile("photo.jpg", make_pdf, "extension .jpg (JPEG)"),
    "png-named-pdf": Hostile("cr.pdf", lambda: hostile.png(10, 10), "extension .pdf (PDF)"),
    "text-named-html": Hostile(
        "page.html", lambda: b"Bonjour <script>alert(1)</script>", "extension .html"
    ),
    "jpeg-named-svg": Hostile("image.svg", hostile.jpeg, "extension .svg"),
}


def _files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def var_dir(settings, private_keys_and_blobs):
    return settings.VAR_DIR


@pytest.fixture
def nothing_left(var_dir):
    """No blob and no temporary copy left under var/ by a refused upload."""
    before = _files(var_dir / "blobs")

    def check():
        assert _files(var_dir / "blobs") == before, "un fichier chiffré est resté"
        leftovers = [p for p in _files(var_dir / "tmp") if p.name.startswith("upload-")]
        assert not leftovers, f"copie temporaire restée : {leftovers}"

    return check


# --- The check itself, at the service every door calls -------------------------------


@pytest.mark.parametrize("source", ["patient", "professional"])
@pytest.mark.parametrize("case", REFUSED, ids=str)
def test_a_hostile_file_is_refused_before_decoding_and_leaves_nothing(
    personas, nothing_left, case, source
):
    hostile_file = REFUSED[case]
    actor = actor_for_user(personas.mother.user) if source == "patient" else pro_actor(personas.gp)
    data = hostile_file.data
    with hostile.measured(f"{case} ({source})", len(data)), pytest.raises(UploadRefused) as refused:
        record.add_document(
            actor,
            personas.mother,
            SimpleUploadedFile(hostile_file.name, data),
            record.NewDocument(
                title="Fichier hostile",
                type_code="DOCPAT03" if source == "patient" else "11488-4",
                source=source,
            ),
        )
    expected = (source == "professional" and hostile_file.professional_refusal) or (
        hostile_file.refusal
    )
    assert expected in refused.value.messages[0]
    assert Document.objects.count() == 0
    nothing_left()


# --- Through each web door ---------------------------------------------------------


@pytest.fixture
def marie_client(personas):
    client = Client()
    client.force_login(personas.mother.user)
    return client


@pytest.fixture
def doctor_client(personas):
    """Dr Martin signed in with her password and TOTP, never with a code about to expire
    (allauth takes the current 30-second period's only)."""
    left = 30 - time.time() % 30
    if left < 3:
        time.sleep(left + 0.1)
    return signed_in_professional(personas.gp, personas)


@pytest.fixture
def open_conversation(personas):
    return messaging.start_conversation(
        pro_actor(personas.gp),
        personas.mother,
        subject="Vos résultats",
        body="Bonjour, envoyez-moi la photo de votre ordonnance.",
    )


def _citizen_upload(client, personas, upload, conversation):
    response = client.post(
        "/documents/ajouter/",
        {"file": upload, "title": "Mon scan", "category": "CPT_REND"},
    )
    return response.status_code, response.content.decode()


def _portal_deposit(client, personas, upload, conversation):
    response = client.post(
        f"/pro/patients/{personas.mother.id}/deposer/",
        {"file": upload, "type_code": "11488-4", "title": "CR"},
        follow=True,
    )
    return response.status_code, response.content.decode()


def _doctor_writes(client, personas, upload, conversation):
    response = client.post(
        f"/pro/messagerie/ecrire/{personas.mother.id}/",
        {
            "subject": "Résultats",
            "body": "Ci-joint.",
            "reply_mode": "reply",
            "attachments": [upload],
        },
        follow=True,
    )
    return response.status_code, response.content.decode()


def _patient_replies(client, personas, upload, conversation):
    response = client.post(
        f"/messagerie/{conversation.id}/repondre/",
        {"body": "Voici la photo.", "attachments": [upload]},
        follow=True,
    )
    return response.status_code, response.content.decode()


# door: (client fixture, how it sends, whether it accepts XML: professionals' CDA)
DOORS = {
    "citizen-upload": ("marie_client", _citizen_upload, False),
    "portal-deposit": ("doctor_client", _portal_deposit, True),
    "messaging-doctor": ("doctor_client", _doctor_writes, False),
    "messaging-patient": ("marie_client", _patient_replies, False),
}


def _unescaped(page: str) -> str:
    import html

    return html.unescape(page)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    "case",
    [
        "png-13000x13000",
        "jpeg-65000x65000",
        "tiff-2-pages-6000x6000",
        "apng-20-frames-2000x2000",
        "gif-small",
        "svg-script",
        "html-then-pdf",
        "pdf-objstm-bomb-200mb",
        "pdf-javascript",
        "pdf-named-jpg",
    ],
)
def test_every_web_door_says_why_and_stores_nothing(
    request, personas, nothing_left, open_conversation, door, case
):
    fixture, send, takes_xml = DOORS[door]
    client = request.getfixturevalue(fixture)
    hostile_file = REFUSED[case]
    messages_before = Message.objects.count()
    upload = SimpleUploadedFile(hostile_file.name, hostile_file.data)
    with hostile.measured(f"{case} via {door}", len(hostile_file.data)):
        status, page = send(client, personas, upload, open_conversation)
    assert status in (200, 400)  # the form again, never a server error
    expected = (takes_xml and hostile_file.professional_refusal) or hostile_file.refusal
    assert expected in _unescaped(page)
    assert Document.objects.count() == 0
    assert Message.objects.count() == messages_before
    assert Attachment.objects.count() == 0
    nothing_left()


# --- Bombs within the limits: accepted, at a bounded cost ------------------------------

ACCEPTED_BOMBS = {
    # 49 million pixels, under the limit: a legitimate (if dull) image. The check
    # decodes it once, so its cost is bounded by RECORD_IMAGE_MAX_PIXELS × 4 bytes.
    "png-7000x7000-grey-zeros": ("scan.png", lambda: hostile.png(7000, 7000), "image/png"),
    "png-7000x7000-rgba-zeros": (
        "scan.png",
        lambda: hostile.png(7000, 7000, color_type=6),
        "image/png",
    ),
    "tiff-7000x7000-deflate-strip": (
        "scan.tif",
        lambda: hostile.tiff(7000, 7000, deflate=True),
        "image/tiff",
    ),
    # A page whose content inflates to 300 MB: our check never reads page contents
    # (pypdf only counts the pages), so it costs nothing here; a viewer gets it sandboxed.
    "pdf-content-bomb-300mb": ("cr.pdf", lambda: hostile.pdf_content_bomb(300), "application/pdf"),
}


@pytest.mark.parametrize("case", ACCEPTED_BOMBS)
def test_a_bomb_within_the_limits_is_accepted_at_a_bounded_cost(personas, blob_dir, case):
    name, build, mime_type = ACCEPTED_BOMBS[case]
    data = _built(build)
    with hostile.measured(f"{case} (accepté)", len(data)):
        document = record.add_document(
            pro_actor(personas.gp),
            personas.mother,
            SimpleUploadedFile(name, data),
            record.NewDocument(title="Grande image", type_code="18748-4", source="professional"),
        )
    assert document.mime_type == mime_type
    assert record.read_content(document) == data  # stored as sent, never re-encoded


@pytest.fixture
def blob_dir(private_keys_and_blobs):
    return private_keys_and_blobs


def test_a_png_whose_data_outgrows_its_header_is_decoded_only_as_far_as_the_header_says(
    personas, blob_dir
):
    # 1,000 × 1,000 declared, 100,000 rows of data (100 MB once inflated): the
    # decoder stops when the declared image is full.
    data = hostile.png(1000, 1000, rows=100_000)
    with hostile.measured("png-1000x1000-idat-100mb", len(data)):
        try:
            record.add_document(
                pro_actor(personas.gp),
                personas.mother,
                SimpleUploadedFile("scan.png", data),
                record.NewDocument(title="Scan", type_code="18748-4", source="professional"),
            )
        except UploadRefused as refusal:
            assert "endommagée" in refusal.messages[0]


# --- Polyglots accepted as their real type -----------------------------------------


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<script>alert(document.domain)</script>")
    return buffer.getvalue()


POLYGLOTS = {
    # HTML in a JPEG comment: a JPEG, served as one.
    "jpeg-html-comment": (
        "photo.jpg",
        lambda: hostile.jpeg(comment=b"<html><script>alert(document.domain)</script></html>"),
        "image/jpeg",
    ),
    # A zip (GIFAR-style) appended to a PNG: a PNG, served as one.
    "png-zip-appended": ("scan.png", lambda: hostile.png(20, 20, trailer=_zip()), "image/png"),
    # A PDF with an HTML page (and its script) in a comment after its end.
    "pdf-html-trailer": (
        "cr.pdf",
        lambda: make_pdf() + b"\n<html><script>alert(document.domain)</script></html>\n",
        "application/pdf",
    ),
    # Text that looks like markup after its first line: text, served as text.
    "text-with-html": (
        "notes.txt",
        lambda: b"Notes du jour\n<html><script>alert(document.domain)</script></html>\n",
        "text/plain",
    ),
}


def _assert_served_safely(response, mime_type: str, disposition: str) -> None:
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == mime_type
    assert response["Content-Type"].split(";")[0] != "text/html"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Content-Security-Policy"]
    assert "sandbox" in [part.strip() for part in policy.split(";")]
    assert "default-src 'none'" in policy
    assert response["Content-Disposition"].startswith(disposition)
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("case", POLYGLOTS)
def test_a_polyglot_is_kept_as_its_real_type_and_served_only_as_that_sandboxed(
    personas, blob_dir, marie_client, doctor_client, case
):
    name, build, mime_type = POLYGLOTS[case]
    data = _built(build)
    with hostile.measured(f"{case} (accepté)", len(data)):
        response = marie_client.post(
            "/documents/ajouter/",
            {"file": SimpleUploadedFile(name, data), "title": "Polyglotte", "category": "CPT_REND"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    document = Document.objects.get()
    assert document.mime_type == mime_type
    shown = marie_client.get(f"/documents/{document.id}/contenu/")
    _assert_served_safely(shown, mime_type, "inline")
    assert b"".join(shown.streaming_content) == data
    _assert_served_safely(
        marie_client.get(f"/documents/{document.id}/telecharger/"), mime_type, "attachment"
    )
    # The professional portal shows it too (Marie's médecin traitant).
    record.set_masked(actor_for_user(personas.mother.user), document, False)
    _assert_served_safely(doctor_client.get(f"/pro/documents/{document.id}/"), mime_type, "inline")


@pytest.mark.parametrize("case", ["pdf-html-trailer", "jpeg-html-comment"])
def test_a_messaging_attachment_is_downloaded_with_its_real_type_sandboxed(
    personas, blob_dir, marie_client, doctor_client, case
):
    name, build, mime_type = POLYGLOTS[case]
    conversation = messaging.start_conversation(
        pro_actor(personas.gp),
        personas.mother,
        subject="Résultats",
        body="Ci-joint.",
        attachments=[SimpleUploadedFile(name, _built(build))],
    )
    attachment = Attachment.objects.get(message__conversation=conversation)
    assert attachment.mime_type == mime_type
    _assert_served_safely(
        marie_client.get(f"/messagerie/pieces-jointes/{attachment.id}/"), mime_type, "attachment"
    )
    _assert_served_safely(
        doctor_client.get(f"/pro/messagerie/pieces-jointes/{attachment.id}/"),
        mime_type,
        "attachment",
    )


# --- CDA: entities and depth -----------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "build", "refusal"),
    [
        ("cda-billion-laughs", lambda: hostile.BILLION_LAUGHS, "DTD"),
        ("cda-nested-100000", lambda: hostile.deeply_nested_cda(100_000), "100 niveaux"),
    ],
)
def test_a_hostile_cda_is_refused_with_a_clear_reason(
    personas, nothing_left, doctor_client, case, build, refusal
):
    data = build()
    with hostile.measured(f"{case} via portal-deposit", len(data)):
        status, page = _portal_deposit(
            doctor_client, personas, SimpleUploadedFile("cr.xml", data), None
        )
    assert status == 200
    assert refusal in _unescaped(page)
    assert Document.objects.count() == 0
    nothing_left()


def test_a_cda_nested_within_the_limit_is_shown_as_its_narrative(personas, blob_dir, marie_client):
    document = record.add_document(
        pro_actor(personas.gp),
        personas.mother,
        SimpleUploadedFile("cr.xml", hostile.deeply_nested_cda(90)),
        record.NewDocument(title="CR imbriqué", type_code="11488-4", source="professional"),
    )
    assert document.is_structured
    page = marie_client.get(f"/documents/{document.id}/")
    assert page.status_code == 200
    assert "profond" in page.content.decode()
    # Its XML is downloaded as XML, never as a page of ours.
    download = marie_client.get(f"/documents/{document.id}/telecharger/")
    _assert_served_safely(download, "application/xml", "attachment")


# --- Compressed request bodies ---------------------------------------------------------


def test_a_gzip_encoded_upload_is_not_inflated_by_the_server(personas, nothing_left, marie_client):
    """Django never decodes Content-Encoding: a gzip bomb body stays its compressed size."""
    import gzip

    boundary = "hostile"
    inner = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBombe\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\nCPT_REND\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + b"a" * (50 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    body = gzip.compress(inner, compresslevel=9)
    with hostile.measured("multipart gzip 50 Mo (Content-Encoding)", len(body)):
        response = marie_client.generic(
            "POST",
            "/documents/ajouter/",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_CONTENT_ENCODING="gzip",
        )
    # The compressed bytes are not a multipart body (Django's parser refuses its
    # "headers"): nothing is inflated, nothing stored, and the page says so in French.
    assert response.status_code == 400
    assert "rien n'a été enregistré" in _unescaped(response.content.decode())
    assert Document.objects.count() == 0
    nothing_left()
