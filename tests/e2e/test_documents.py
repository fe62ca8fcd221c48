"""Documents dans un vrai navigateur : ajout avec progression, lecture, masquage,
suppression, et accessibilité des pages."""

import pytest
from playwright.sync_api import expect

from espace_sante.record.documents.models import Document
from tests.record.conftest import make_pdf

from .conftest import sign_in_citizen
from .test_profile import blocking_violations

pytestmark = pytest.mark.browser


def open_documents(page, base_url, personas, smtp_server) -> None:
    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Documents"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents")


def test_marie_ajoute_ouvre_masque_puis_supprime_un_document(
    page, base_url, personas, smtp_server, tmp_path, console_errors
):
    pdf = tmp_path / "ordonnance.pdf"
    pdf.write_bytes(make_pdf("Ordonnance", pages=3))
    open_documents(page, base_url, personas, smtp_server)
    expect(page.get_by_text("ne contient encore aucun document")).to_be_visible()

    page.get_by_role("link", name="Ajouter un document").click()
    page.get_by_label("Fichier").set_input_files(str(pdf))
    page.get_by_label("Titre").fill("Ordonnance du Dr Martin")
    page.get_by_label("Catégorie").select_option(label="Ordonnances et soins")
    page.get_by_label("Date du document").fill("2026-10-02")
    page.get_by_role("button", name="Ajouter le document").click()

    # The script sends it with a progress bar, then opens the new document.
    expect(page.get_by_role("heading", level=1)).to_have_text("Ordonnance du Dr Martin")
    expect(page.get_by_text("Votre document a été ajouté.")).to_be_visible()
    document = Document.objects.get()
    assert document.mime_type == "application/pdf"

    # Opening streams the decrypted PDF, never cached.
    response = page.request.get(f"{base_url}/documents/{document.id}/contenu/")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "no-store" in response.headers["cache-control"]
    assert response.body() == pdf.read_bytes()

    page.get_by_role("button", name="Masquer aux professionnels").click()
    expect(page.get_by_text("Le document est masqué aux professionnels de santé.")).to_be_visible()
    page.get_by_role("link", name="Documents", exact=True).first.click()
    expect(page.get_by_text("Masqué aux professionnels")).to_be_visible()
    expect(page.get_by_text("Ordonnances et soins (1)")).to_be_visible()

    page.get_by_role("link", name="Ordonnance du Dr Martin").click()
    page.get_by_role("link", name="Supprimer ce document").click()
    expect(page.get_by_text("Voulez-vous vraiment supprimer")).to_be_visible()
    page.get_by_role("button", name="Oui, supprimer le document").click()
    expect(page.get_by_text("« Ordonnance du Dr Martin » a été supprimé.")).to_be_visible()
    assert Document.objects.count() == 0
    assert console_errors == []


def test_un_fichier_refuse_est_explique_sans_quitter_le_formulaire(
    page, base_url, personas, smtp_server, tmp_path
):
    bad = tmp_path / "page.pdf"
    bad.write_bytes(b"<html><script>alert(1)</script></html>")
    open_documents(page, base_url, personas, smtp_server)
    page.get_by_role("link", name="Ajouter un document").click()
    page.get_by_label("Fichier").set_input_files(str(bad))
    page.get_by_label("Titre").fill("Faux PDF")
    page.get_by_label("Catégorie").select_option(label="Comptes rendus")
    page.get_by_role("button", name="Ajouter le document").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Ce type de fichier n'est pas accepté")
    expect(alert).to_be_focused()
    expect(page.get_by_label("Titre")).to_have_value("Faux PDF")
    assert Document.objects.count() == 0


def test_les_pages_documents_sont_accessibles(page, base_url, personas, smtp_server, tmp_path):
    from espace_sante.access.policy import actor_for_user
    from espace_sante.record.documents import services

    path = tmp_path / "bilan.pdf"
    path.write_bytes(make_pdf("Bilan"))
    with path.open("rb") as handle:
        services.add_document(
            actor_for_user(personas.mother.user),
            personas.mother,
            handle,
            services.NewDocument(title="Bilan sanguin", type_code="DOCPAT05", source="patient"),
        )
    open_documents(page, base_url, personas, smtp_server)
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Bilan sanguin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bilan sanguin")
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Modifier").click()
    assert blocking_violations(page) == []
    page.goto(f"{base_url}/documents/ajouter/")
    assert blocking_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{base_url}/documents/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
