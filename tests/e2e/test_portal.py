"""Portail professionnel dans un vrai navigateur : le scénario de l'issue 4."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from espace_sante.access import services as access
from espace_sante.access.policy import actor_for_user
from espace_sante.record.documents import services as record
from tests.record.conftest import make_pdf

from .conftest import enter_totp, sign_in_citizen, sign_in_with_password
from .test_profile import blocking_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def marie_documents(personas):
    marie = actor_for_user(personas.mother.user)
    record.add_document(
        marie,
        personas.mother,
        SimpleUploadedFile("b.pdf", make_pdf()),
        record.NewDocument(title="Bilan sanguin", type_code="DOCPAT05", source="patient"),
    )
    masked = record.add_document(
        marie,
        personas.mother,
        SimpleUploadedFile("c.pdf", make_pdf()),
        record.NewDocument(
            title="Compte rendu confidentiel", type_code="DOCPAT03", source="patient"
        ),
    )
    record.set_masked(marie, masked, True)


def sign_in_professional(page, base_url, professional, personas):
    sign_in_with_password(page, base_url, professional.user.email, personas.password)
    page.wait_for_url(base_url + "/comptes/2fa/authenticate/")
    enter_totp(page, base_url, personas.totp_secret)


def find_marie(page, personas):
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mes patients"
    ).click()
    page.get_by_label("Matricule INS (numéro de sécurité sociale)").fill(
        personas.mother.ins_matricule
    )
    page.get_by_label("Date de naissance").fill(personas.mother.birth_date.isoformat())
    page.get_by_label("Nom de naissance").fill("Durand")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marie DURAND")


def test_le_medecin_traitant_voit_le_document_masque(page, base_url, personas, marie_documents):
    sign_in_professional(page, base_url, personas.gp, personas)
    find_marie(page, personas)
    expect(page.get_by_role("link", name="Compte rendu confidentiel")).to_be_visible()
    expect(page.get_by_text("Vous êtes son médecin traitant.")).to_be_visible()
    # What Marie added herself is hers, not the doctor's « Vous-même ».
    row = page.get_by_role("row").filter(has_text="Bilan sanguin")
    expect(row.get_by_role("cell", name="Le patient (ou son représentant)")).to_be_visible()
    expect(page.get_by_text("Vous-même")).to_have_count(0)
    assert blocking_violations(page) == []


def test_un_medecin_sans_consentement_ne_voit_rien_puis_les_documents_non_masques(
    page, base_url, personas, marie_documents
):
    sign_in_professional(page, base_url, personas.hospital_doctor, personas)
    find_marie(page, personas)
    expect(page.get_by_text("Vous n'avez pas accès aux documents de ce patient.")).to_be_visible()
    expect(page.get_by_role("link", name="Bilan sanguin")).to_have_count(0)
    page.get_by_role("button", name="Le patient, présent, consent à l'accès").click()
    expect(page.get_by_text("Le consentement du patient est enregistré.")).to_be_visible()
    expect(page.get_by_role("link", name="Bilan sanguin")).to_be_visible()
    expect(page.get_by_role("link", name="Compte rendu confidentiel")).to_have_count(0)
    assert blocking_violations(page) == []


def test_un_medecin_bloque_depose_mais_ne_lit_pas(
    page, base_url, personas, marie_documents, tmp_path
):
    doctor = personas.hospital_doctor
    access.record_consent(actor_for_user(doctor.user), personas.mother)
    access.block_professional(actor_for_user(personas.mother.user), personas.mother, doctor)
    pdf = tmp_path / "cr.pdf"
    pdf.write_bytes(make_pdf())
    sign_in_professional(page, base_url, doctor, personas)
    find_marie(page, personas)
    expect(page.get_by_role("link", name="Bilan sanguin")).to_have_count(0)
    page.get_by_label("Document (PDF)").set_input_files(str(pdf))
    page.get_by_label("Type de document").select_option(
        label="CR ou fiche de consultation ou de visite"
    )
    page.get_by_label("Titre").fill("Consultation de cardiologie")
    page.get_by_role("button", name="Déposer").click()
    expect(page.get_by_text("Le document est déposé dans le dossier du patient.")).to_be_visible()
    expect(page.get_by_role("link", name="Consultation de cardiologie")).to_have_count(0)


def test_un_bris_de_glace_avec_justification_et_limite_de_temps(
    page, base_url, personas, marie_documents, smtp_server
):
    sign_in_professional(page, base_url, personas.hospital_doctor, personas)
    find_marie(page, personas)
    page.get_by_label("Justification de l'accès d'urgence").fill(
        "Patiente inconsciente aux urgences, traitement en cours à vérifier"
    )
    page.get_by_role("button", name="Ouvrir l'accès d'urgence").click()
    expect(page.get_by_text("Accès d'urgence ouvert jusqu'à")).to_be_visible()
    expect(page.get_by_role("heading", name="Accès d'urgence jusqu'à")).to_be_visible()
    expect(page.get_by_role("link", name="Bilan sanguin")).to_be_visible()

    # Marie sees it in her history, and she and her médecin traitant got an email.
    from django.core.management import call_command

    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    for address in (personas.mother.user.email, personas.gp.email):
        message = smtp_server.wait_for(address)
        assert "Bilan sanguin" not in smtp_server.body(message)  # no health content
    page.get_by_role("button", name="Se déconnecter").click()
    sign_in_citizen(page, base_url, personas.mother.user.email, personas.password, smtp_server)
    page.goto(base_url + "/parametres/historique/?onglet=professionnels")
    expect(page.get_by_text("bris de glace", exact=False).first).to_be_visible()
    expect(
        page.get_by_text("Patiente inconsciente aux urgences", exact=False).first
    ).to_be_visible()


def test_un_professionnel_bloque_ne_peut_pas_ouvrir_d_acces_d_urgence(
    page, base_url, personas, marie_documents, smtp_server
):
    from django.core.management import call_command

    access.block_professional(
        actor_for_user(personas.mother.user), personas.mother, personas.hospital_doctor
    )
    sign_in_professional(page, base_url, personas.hospital_doctor, personas)
    find_marie(page, personas)
    page.get_by_label("Justification de l'accès d'urgence").fill(
        "Patiente inconsciente aux urgences, traitement en cours à vérifier"
    )
    page.get_by_role("button", name="Ouvrir l'accès d'urgence").click()
    # Refused in the words of a patient who turned emergencies off: the block stays secret.
    expect(page.get_by_text("Ce patient a refusé l'accès d'urgence à son dossier.")).to_be_visible()
    expect(page.get_by_text("Accès d'urgence ouvert")).to_have_count(0)
    expect(page.get_by_role("heading", name="Accès d'urgence jusqu'à")).to_have_count(0)
    expect(page.get_by_role("link", name="Bilan sanguin")).to_have_count(0)
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    assert smtp_server.messages == []


def test_un_professionnel_ne_peut_pas_desactiver_sa_double_authentification(
    page, base_url, personas
):
    sign_in_professional(page, base_url, personas.gp, personas)
    page.goto(base_url + "/comptes/2fa/totp/deactivate/")
    page.get_by_label("Mot de passe").fill(personas.password)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(base_url + "/comptes/2fa/totp/deactivate/")
    page.get_by_role("button", name="Désactiver").click()
    expect(
        page.get_by_text("La double authentification est obligatoire pour les professionnels")
    ).to_be_visible()
    page.goto(base_url + "/pro/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/comptes/2fa/totp/activate/" not in page.url


def test_le_medecin_traitant_retrouve_l_acces_d_urgence_et_prend_un_rendez_vous(
    page, base_url, personas
):
    """Issue 18, point 3: the email's « connectez-vous » leads to the emergency on his home;
    issue 13: from there he opens Marie's record and books an appointment in her agenda."""
    from espace_sante.access.consent_models import EmergencyAccess
    from tests.access.test_policy_table import pro_actor

    access.start_emergency_access(
        pro_actor(personas.hospital_doctor),
        personas.mother,
        EmergencyAccess.Kind.BTG,
        "Patiente inconsciente aux urgences",
    )
    sign_in_professional(page, base_url, personas.gp, personas)
    page.goto(base_url + "/pro/")
    urgences = page.get_by_role("table", name="Accès d'urgence des 30 derniers jours")
    expect(urgences).to_contain_text("Patiente inconsciente aux urgences")
    expect(urgences).to_contain_text(personas.hospital_doctor.last_name)

    page.get_by_role("table", name="Les patients dont vous pouvez ouvrir le dossier").get_by_role(
        "link", name="Marie DURAND"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marie DURAND")
    page.get_by_label(re.compile(r"^Date \*")).fill("2099-01-01")
    page.get_by_label("Heure").fill("09:30")
    page.get_by_label("Motif").fill("Suivi de la tension")
    page.get_by_role("button", name="Ajouter le rendez-vous").click()
    expect(page.get_by_text("dans 5 ans")).to_be_visible()
    expect(page.get_by_label("Motif")).to_have_value("Suivi de la tension")  # nothing lost
    from django.utils import timezone

    page.get_by_label(re.compile(r"^Date \*")).fill(
        (timezone.localdate() + timezone.timedelta(days=3)).isoformat()
    )
    page.get_by_role("button", name="Ajouter le rendez-vous").click()
    expect(page.get_by_text("Le rendez-vous est ajouté à l'agenda du patient.")).to_be_visible()
    expect(
        page.get_by_role("table", name="Les rendez-vous que vous ou votre structure")
    ).to_contain_text("9 h 30")
