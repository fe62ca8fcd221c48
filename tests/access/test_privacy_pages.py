"""« Qui peut voir mon dossier » through the web door: every setting changes through
the page, is audited, and only the people who manage the space see it."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum import luhn

from espace_sante.access import services as access
from espace_sante.access.consent_models import Block, Consent, PatientRole
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import Action, Actor, ActorKind, actor_for_user, can
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.services import NewDocument
from tests.record.conftest import make_pdf
from tests.record.profile_support import sign_in_professional

pytestmark = pytest.mark.django_db


def pro_actor(professional) -> Actor:
    return Actor(
        ActorKind.PROFESSIONAL,
        professional_id=professional.id,
        profession=professional.profession,
    )


def page_url(patient, *parts) -> str:
    return "/parametres/confidentialite/" + "/".join([str(patient.id), *map(str, parts)]) + "/"


def audited(patient, action) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(patient_id=patient.id, action=action, outcome="allowed").order_by(
            "sequence"
        )
    )


def text_of(response) -> str:
    """The page as a person reads it (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


@pytest.fixture
def marie(client, personas):
    client.force_login(personas.mother.user)
    return personas.mother


@pytest.fixture
def consented(personas):
    """Dr Benali, the hospital cardiologist, has Marie's consent."""
    access.record_consent(pro_actor(personas.hospital_doctor), personas.mother)
    return personas.hospital_doctor


@pytest.fixture
def lab_result(personas):
    return documents.add_document(
        actor_for_user(personas.mother.user),
        personas.mother,
        SimpleUploadedFile("analyse.pdf", make_pdf()),
        NewDocument(title="Prise de sang", type_code="DOCPAT03", source=Document.Source.PATIENT),
    )


def test_the_page_lists_who_has_access_and_why_and_is_never_cached(
    client, marie, personas, consented
):
    response = client.get("/parametres/confidentialite/")
    assert response.status_code == 302
    assert response["Location"] == page_url(marie)

    response = client.get(page_url(marie))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = text_of(response)
    assert "Les professionnels qui ont accès à mon dossier" in html
    assert "Dr Karim Benali" in html and "Votre consentement du" in html
    assert "Dr Claire Martin" in html and "Médecin traitant" in html
    assert page_url(marie, "bloquer", consented.id) in html
    assert page_url(marie, "consentement", consented.id, "retirer") in html
    # The five settings are forms of their own, each labelled.
    for label in (
        "Par défaut, mes nouveaux documents sont :",
        "Tout masquer, urgences comprises",
        "Le médecin régulateur du SAMU peut consulter mon dossier",
        "Un professionnel peut accéder à mon dossier en urgence (bris de glace)",
        "En urgence, mes documents masqués sont aussi visibles",
    ):
        assert label in html


def test_blocking_asks_for_confirmation_then_the_professional_reads_nothing(
    client, marie, consented, lab_result
):
    doctor = pro_actor(consented)
    assert can(doctor, Action.READ, marie.id, lab_result)

    confirm = client.get(page_url(marie, "bloquer", consented.id))
    assert confirm.status_code == 200
    assert "no-store" in confirm["Cache-Control"]
    html = text_of(confirm)
    assert "Bloquer Dr Karim Benali ?" in html
    assert "ne peut plus lire votre dossier" in html
    assert "peut toujours vous envoyer des documents" in html
    assert "prend fin" in html
    assert not Block.objects.exists()  # a GET changes nothing
    assert can(doctor, Action.READ, marie.id, lab_result)

    response = client.post(page_url(marie, "bloquer", consented.id), follow=True)
    assert response.redirect_chain == [(page_url(marie), 302)]
    html = text_of(response)
    assert "Vous avez bloqué Dr Karim Benali" in html
    assert len(audited(marie, "block")) == 1
    assert not can(doctor, Action.READ, marie.id, lab_result)
    assert not Consent.objects.filter(professional=consented, revoked_at__isnull=True).exists()
    # Listed apart, with « Débloquer » and no more « Bloquer ».
    blocked_section = html.split('id="bloques"', 1)[1].split("</section>", 1)[0]
    assert "Dr Karim Benali" in blocked_section and "Débloquer" in blocked_section
    assert page_url(marie, "bloquer", consented.id) not in html
    # He may still deposit a document.
    assert can(doctor, Action.CREATE, marie.id)


def test_unblocking_is_audited_and_the_professional_must_ask_again(
    client, marie, consented, lab_result
):
    client.post(page_url(marie, "bloquer", consented.id))
    response = client.post(page_url(marie, "debloquer", consented.id), follow=True)
    assert "devra vous demander votre consentement" in text_of(response)
    assert len(audited(marie, "unblock")) == 1
    assert not Block.objects.filter(lifted_at__isnull=True).exists()
    # No consent any more: still nothing to read until he asks again.
    assert not can(pro_actor(consented), Action.READ, marie.id, lab_result)


def test_withdrawing_consent_through_the_page(client, marie, consented, lab_result):
    response = client.post(page_url(marie, "consentement", consented.id, "retirer"), follow=True)
    assert "Vous avez retiré votre consentement à Dr Karim Benali" in text_of(response)
    assert len(audited(marie, "revoke_consent")) == 1
    assert not can(pro_actor(consented), Action.READ, marie.id, lab_result)


def test_the_medecin_traitant_has_no_block_button_and_a_forged_block_is_refused(
    client, marie, personas
):
    gp = personas.gp
    html = text_of(client.get(page_url(marie)))
    assert page_url(marie, "bloquer", gp.id) not in html
    assert "vous ne pouvez pas le bloquer" in html

    confirm = client.get(page_url(marie, "bloquer", gp.id))
    assert "Votre médecin traitant ne peut pas être bloqué" in text_of(confirm)
    assert "Oui, bloquer" not in text_of(confirm)

    response = client.post(page_url(marie, "bloquer", gp.id), follow=True)
    html = text_of(response)
    assert "Votre médecin traitant ne peut pas être bloqué" in html
    assert "fr-alert--error" in html
    assert not Block.objects.exists()
    assert not audited(marie, "block")


def test_a_role_given_by_rpps_then_removed(client, marie, personas):
    pharmacist = personas.pharmacist
    response = client.post(
        page_url(marie, "roles", "ajouter"),
        {
            "kind": "pharmacien_correspondant",
            "rpps": f" {pharmacist.rpps[:5]} {pharmacist.rpps[5:]}",
        },
        follow=True,
    )
    assert response.redirect_chain == [(page_url(marie), 302)]
    assert "Sophie Lefèvre est maintenant « Pharmacien correspondant »" in text_of(response)
    assert PatientRole.objects.filter(patient=marie, professional=pharmacist).count() == 1
    assert len(audited(marie, "role")) == 1
    roles_section = text_of(response).split('id="roles"', 1)[1].split("</section>", 1)[0]
    assert "Sophie Lefèvre" in roles_section

    response = client.post(
        page_url(marie, "roles", pharmacist.id, "retirer"),
        {"kind": "pharmacien_correspondant"},
        follow=True,
    )
    assert "n'est plus « Pharmacien correspondant »" in text_of(response)
    assert not PatientRole.objects.exists()
    assert len(audited(marie, "remove_role")) == 1


def test_a_role_given_to_a_professional_found_by_name(client, marie, personas):
    found = client.get(page_url(marie, "roles", "ajouter"), {"name": "benali"})
    assert found.status_code == 200
    assert "no-store" in found["Cache-Control"]
    html = text_of(found)
    assert "Dr Karim Benali" in html and personas.hospital_doctor.rpps in html
    assert "Dr Claire Martin" not in html

    response = client.post(
        page_url(marie, "roles", "ajouter"),
        {"kind": "administrateur", "professional": str(personas.hospital_doctor.id)},
    )
    assert response.status_code == 302
    assert PatientRole.objects.get().kind == "administrateur"
    assert len(audited(marie, "role")) == 1

    nothing = text_of(client.get(page_url(marie, "roles", "ajouter"), {"name": "Zzyzx"}))
    assert "Aucun professionnel ne correspond à « Zzyzx »" in nothing


def test_a_role_by_an_unknown_or_malformed_rpps_says_why_in_french(client, marie):
    base = "1999999999"
    unknown = base + luhn.calc_check_digit(base)
    response = client.post(
        page_url(marie, "roles", "ajouter"), {"kind": "administrateur", "rpps": unknown}
    )
    assert response.status_code == 400
    html = text_of(response)
    assert "Aucun professionnel ne correspond à ce numéro RPPS." in html
    assert re.search(r'aria-describedby="[^"]*id_rpps_error', html)
    assert 'aria-invalid="true"' in html

    html = text_of(
        client.post(page_url(marie, "roles", "ajouter"), {"kind": "administrateur", "rpps": "123"})
    )
    assert "Le numéro RPPS compte exactement 11 chiffres." in html
    wrong_key = base + str((int(luhn.calc_check_digit(base)) + 1) % 10)
    html = text_of(
        client.post(
            page_url(marie, "roles", "ajouter"), {"kind": "administrateur", "rpps": wrong_key}
        )
    )
    assert "chiffre de contrôle" in html
    assert not PatientRole.objects.exists()
    assert not audited(marie, "role")


def test_a_role_the_rules_refuse_is_explained(client, marie, personas):
    response = client.post(
        page_url(marie, "roles", "ajouter"),
        {"kind": "sage_femme_referente", "rpps": personas.hospital_doctor.rpps},
    )
    assert response.status_code == 400
    assert "Seule une sage-femme peut être sage-femme référente." in text_of(response)
    assert not PatientRole.objects.exists()


def test_new_documents_masked_by_default(client, marie, personas):
    response = client.post(page_url(marie, "nouveaux-documents"), {"visibility": "masques"})
    assert response.status_code == 302
    assert access.settings_for(marie).mask_new_documents
    assert "mask_new_documents=oui" in audited(marie, "settings")[-1].reason
    html = text_of(client.get(page_url(marie)))
    assert "vos prochains documents seront masqués" in html
    assert re.search(r'value="masques" checked', html)

    document = documents.add_document(
        actor_for_user(personas.mother.user),
        marie,
        SimpleUploadedFile("a.pdf", make_pdf()),
        NewDocument(title="Nouveau", type_code="DOCPAT03", source=Document.Source.PATIENT),
    )
    assert document.masked_from_professionals

    client.post(page_url(marie, "nouveaux-documents"), {"visibility": "visibles"})
    assert not access.settings_for(marie).mask_new_documents


def test_a_forged_visibility_is_an_error_next_to_the_field(client, marie):
    response = client.post(page_url(marie, "nouveaux-documents"), {"visibility": "peut-etre"})
    assert response.status_code == 400
    html = text_of(response)
    assert 'role="alert"' in html and "id_visibility_error" in html
    assert not audited(marie, "settings")


def test_mask_everything_asks_for_confirmation(client, marie, consented, lab_result):
    access.update_settings(actor_for_user(marie.user), marie, emergency_masked=True)
    response = client.post(page_url(marie, "tout-masquer"), {"mask_everything": "on"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Tout masquer, urgences comprises ?" in text_of(response)
    assert not access.settings_for(marie).mask_everything
    assert can(pro_actor(consented), Action.READ, marie.id, lab_result)

    response = client.post(
        page_url(marie, "tout-masquer"), {"mask_everything": "on", "confirmed": "True"}, follow=True
    )
    assert "tous vos documents sont masqués" in text_of(response)
    current = access.settings_for(marie)
    assert current.mask_everything and not current.emergency_masked
    assert "mask_everything=oui" in audited(marie, "settings")[-1].reason
    assert not can(pro_actor(consented), Action.READ, marie.id, lab_result)
    # The emergency choice that no longer applies is replaced by the reason.
    assert "sans effet tant que" in text_of(response)
    assert 'name="emergency_masked"' not in text_of(response)

    client.post(page_url(marie, "tout-masquer"), {})  # asks first
    assert access.settings_for(marie).mask_everything
    client.post(page_url(marie, "tout-masquer"), {"confirmed": "True"})
    assert not access.settings_for(marie).mask_everything
    assert can(pro_actor(consented), Action.READ, marie.id, lab_result)


def test_the_three_emergency_settings(client, marie):
    html = text_of(client.get(page_url(marie)))
    assert re.search(r'name="emergency_samu" id="id_emergency_samu" checked', html)
    assert re.search(r'name="emergency_btg" id="id_emergency_btg" checked', html)
    assert not re.search(r'name="emergency_masked" id="id_emergency_masked" checked', html)
    assert 'aria-describedby="id_emergency_btg_helptext"' in html

    response = client.post(
        page_url(marie, "urgences"), {"emergency_samu": "on", "emergency_masked": "on"}, follow=True
    )
    assert "le bris de glace est refusé" in text_of(response)
    current = access.settings_for(marie)
    assert current.emergency_samu and not current.emergency_btg and current.emergency_masked
    reason = audited(marie, "settings")[-1].reason
    assert "emergency_btg=non" in reason and "emergency_masked=oui" in reason

    client.post(page_url(marie, "urgences"), {})
    current = access.settings_for(marie)
    assert not (current.emergency_samu or current.emergency_btg or current.emergency_masked)


def test_a_parent_manages_the_space_of_her_child(client, marie, personas):
    response = client.get(page_url(personas.child))
    assert response.status_code == 200
    assert "Vous gérez ici l'espace santé de Léo DURAND" in text_of(response)


def all_urls(patient, professional):
    return [
        ("get", page_url(patient)),
        ("get", page_url(patient, "bloquer", professional.id)),
        ("post", page_url(patient, "bloquer", professional.id)),
        ("post", page_url(patient, "debloquer", professional.id)),
        ("post", page_url(patient, "consentement", professional.id, "retirer")),
        ("get", page_url(patient, "roles", "ajouter")),
        ("post", page_url(patient, "roles", "ajouter")),
        ("post", page_url(patient, "roles", professional.id, "retirer")),
        ("post", page_url(patient, "nouveaux-documents")),
        ("post", page_url(patient, "tout-masquer")),
        ("post", page_url(patient, "urgences")),
    ]


DATA = {
    "kind": "administrateur",
    "visibility": "masques",
    "mask_everything": "on",
    "confirmed": "True",
}


def test_another_citizen_gets_404_everywhere_and_changes_nothing(client, personas, consented):
    client.force_login(personas.elder.user)
    for method, url in all_urls(personas.mother, consented):
        data = dict(DATA, rpps=consented.rpps) if method == "post" else {}
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, url
        assert "Benali" not in text_of(response)
    assert not Block.objects.exists() and not PatientRole.objects.exists()
    current = access.settings_for(personas.mother)
    assert not current.mask_new_documents and not current.mask_everything
    assert current.emergency_samu and current.emergency_btg
    # His own page is his own.
    assert client.get("/parametres/confidentialite/")["Location"] == page_url(personas.elder)


def test_a_professional_gets_404(client, personas, consented):
    sign_in_professional(client, consented.user)
    assert client.get("/parametres/confidentialite/").status_code == 404
    for method, url in all_urls(personas.mother, consented):
        assert getattr(client, method)(url, DATA).status_code == 404, url
    assert Consent.objects.filter(revoked_at__isnull=True).count() == 1
    assert not Block.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client, personas):
    response = client.get(page_url(personas.mother))
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
