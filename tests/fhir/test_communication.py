"""Secure messaging through FHIR ``Communication``: software writes, the patient reads and replies.

Raw HTTP against the live server, as outside software would; what the
patient sees is checked through the same services her web inbox uses.
"""

import base64
import io

import pytest
import requests

from .conftest import PDF, assert_outcome, ins_of, register
from .test_audit_events import citizen_token

REPLY_MODE_URL = "https://espace-sante.example/fhir/StructureDefinition/reply-mode"


def new_conversation(person, subject="Vos résultats de prise de sang", **extra) -> dict:
    resource = {
        "resourceType": "Communication",
        "status": "completed",
        "subject": {"reference": f"Patient?identifier={ins_of(person)}"},
        "topic": {"text": subject},
        "payload": [
            {"contentString": "Bonjour Madame Durand,\nVos résultats sont normaux."},
            {
                "contentAttachment": {
                    "contentType": "application/pdf",
                    "title": "resultats.pdf",
                    "data": base64.b64encode(PDF).decode(),
                }
            },
        ],
    }
    resource.update(extra)
    return resource


def reply_to(message_id, text="Merci docteur, bien reçu.") -> dict:
    return {
        "resourceType": "Communication",
        "status": "completed",
        "inResponseTo": [{"reference": f"Communication/{message_id}"}],
        "payload": [{"contentString": text}],
    }


def patient_post(live_server, token, resource) -> requests.Response:
    return requests.post(
        f"{live_server.url}/fhir/R4/Communication",
        json=resource,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=30,
    )


@pytest.fixture
def marie_app(personas) -> str:
    return citizen_token(
        personas.mother, token="jeton-messagerie-marie", scope="openid patient/Communication.cr"
    )


def _marie(personas):
    from espace_sante.access.policy import actor_for_user

    return actor_for_user(personas.mother.user)


def _trail(person) -> list[tuple[str, str, str]]:
    from espace_sante.access.models import AuditEntry

    return list(
        AuditEntry.objects.filter(patient_id=person.id)
        .order_by("sequence")
        .values_list("action", "outcome", "acting_for")
    )


def test_software_writes_with_a_pdf_the_patient_reads_and_replies(
    live_server, gp_software, personas, marie_app
):
    from espace_sante.messaging import services as messaging

    created = gp_software.post("Communication", new_conversation(personas.mother))
    assert created.status_code == 201, created.text
    first = created.json()
    assert created.headers["Location"].endswith(f"/Communication/{first['id']}")
    assert first["topic"]["text"] == "Vos résultats de prise de sang"
    assert first["sender"]["identifier"]["value"] == personas.gp.id_nat
    assert first["subject"]["reference"] == f"Patient/{personas.mother.id}"
    assert first["payload"][1]["contentAttachment"]["title"] == "resultats.pdf"
    assert {"url": REPLY_MODE_URL, "valueCode": "reply"} in first["extension"]

    # Marie finds it in her web inbox, with the PDF, and it is from Dr Martin.
    marie = _marie(personas)
    [item] = messaging.inbox(marie, personas.mother)
    assert item.subject == "Vos résultats de prise de sang"
    assert item.unread == 1
    page = messaging.read_conversation(marie, item.conversation)
    assert page.messages[0].body.startswith("Bonjour Madame Durand")
    assert page.conversation.sender_label == personas.gp.display_name
    [shown] = page.messages[0].attachments
    attachment, name = messaging.access_attachment(marie, shown.attachment.id)
    assert name == "resultats.pdf"
    assert b"".join(messaging.iter_attachment(attachment)) == PDF

    # Her app replies in the thread; the doctor's software follows up.
    answered = patient_post(live_server, marie_app, reply_to(first["id"]))
    assert answered.status_code == 201, answered.text
    reply = answered.json()
    assert reply["sender"] == {"reference": f"Patient/{personas.mother.id}"}
    assert reply["inResponseTo"] == [{"reference": f"Communication/{first['id']}"}]
    follow_up = gp_software.post(
        "Communication",
        {
            "resourceType": "Communication",
            "status": "completed",
            "partOf": [{"reference": f"Communication/{first['id']}"}],
            "payload": [{"contentString": "Parfait, à bientôt."}],
        },
    )
    assert follow_up.status_code == 201, follow_up.text

    # The software lists its conversation with her: three messages, threaded.
    found = gp_software.get("Communication", {"patient": str(personas.mother.id)})
    assert found.status_code == 200, found.text
    entries = [entry["resource"] for entry in found.json()["entry"]]
    assert [e["payload"][0]["contentString"] for e in entries] == [
        "Bonjour Madame Durand,\nVos résultats sont normaux.",
        "Merci docteur, bien reçu.",
        "Parfait, à bientôt.",
    ]
    assert entries[2]["partOf"] == [{"reference": f"Communication/{first['id']}"}]
    assert entries[2]["inResponseTo"] == [{"reference": f"Communication/{reply['id']}"}]
    assert "received" in entries[0]  # Marie read it: the read acknowledgement
    by_thread = gp_software.get("Communication", {"part-of": f"Communication/{first['id']}"})
    assert len(by_thread.json()["entry"]) == 3

    # Reading one message gives the attachment's bytes.
    read = gp_software.get(f"Communication/{first['id']}")
    assert read.status_code == 200, read.text
    data = read.json()["payload"][1]["contentAttachment"]["data"]
    assert base64.b64decode(data) == PDF

    # Every step is in Marie's trail, the software named.
    trail = _trail(personas.mother)
    client = gp_software.client_id
    for action in ("message_start", "message_send", "message_read", "attachment_download"):
        assert (action, "allowed", client) in trail, action
    # Marie's reply is traced as sent through her app, not through the software.
    assert any(a == "message_send" and who not in ("", client) for a, _, who in trail)

    # Her app acts as itself: once she withdraws its grant, it writes nothing more.
    from oauth2_provider.models import get_access_token_model

    from espace_sante.access import grants
    from espace_sante.access.models import AuditEntry

    app = get_access_token_model().objects.get(token=marie_app).application
    sent = AuditEntry.objects.filter(patient_id=personas.mother.id, acting_for=app.client_id)
    assert set(sent.values_list("actor_kind", "mode")) == {("app", "app")}
    assert grants.revoke_app(_marie(personas), personas.mother, app)
    refused = patient_post(live_server, marie_app, reply_to(first["id"], "Encore une question."))
    assert_outcome(refused, 404)
    assert sent.filter(outcome="denied").count() == 1


def test_reply_mode_and_the_organisation_mailbox(gp_software, personas):
    from espace_sante.messaging import services as messaging

    resource = new_conversation(
        personas.mother,
        extension=[{"url": REPLY_MODE_URL, "valueCode": "none"}],
        sender={
            "type": "Organization",
            "identifier": {"system": "urn:oid:1.2.250.1.71.4.2.2", "value": gp_software.finess},
        },
    )
    created = gp_software.post("Communication", resource)
    assert created.status_code == 201, created.text
    assert created.json()["sender"]["identifier"]["value"] == gp_software.finess
    [item] = messaging.inbox(_marie(personas), personas.mother)
    assert item.conversation.reply_mode == "none"
    assert item.conversation.sender_professional_id is None
    with pytest.raises(messaging.MessagingRefused):
        messaging.reply(_marie(personas), item.conversation, "Une réponse")
    bad = new_conversation(
        personas.mother, extension=[{"url": REPLY_MODE_URL, "valueCode": "jamais"}]
    )
    assert_outcome(gp_software.post("Communication", bad), 400, "Mode de réponse")
    elsewhere = new_conversation(
        personas.mother, sender={"reference": "Organization/310004569", "type": "Organization"}
    )
    assert_outcome(gp_software.post("Communication", elsewhere), 422, "structure")


def test_refusals_say_why_in_french(live_server, gp_software, hospital_software, personas):
    from espace_sante.access import services as access
    from espace_sante.messaging import services as messaging
    from espace_sante.messaging.models import Message

    # Malformed: not JSON, another resource, bad base64, an attachment by url.
    assert_outcome(gp_software.post("Communication", b"{pas du json"), 400, "JSON")
    assert_outcome(
        gp_software.post("Communication", {"resourceType": "Patient"}), 400, "Communication"
    )
    broken = new_conversation(personas.mother)
    broken["payload"][1]["contentAttachment"]["data"] = "%%%pas-du-base64%%%"
    assert_outcome(gp_software.post("Communication", broken), 400, "contentAttachment.data")
    by_url = new_conversation(personas.mother)
    by_url["payload"][1]["contentAttachment"] = {"url": "https://ailleurs.example/cr.pdf"}
    assert_outcome(gp_software.post("Communication", by_url), 400, "contentAttachment.data")
    # Business rules from the services: no subject, no text, a file that is not what it says.
    assert_outcome(
        gp_software.post("Communication", new_conversation(personas.mother, subject=" ")),
        422,
        "objet",
    )
    fake = new_conversation(personas.mother)
    fake["payload"][1]["contentAttachment"]["data"] = base64.b64encode(b"MZ\x90\x00exe").decode()
    assert_outcome(gp_software.post("Communication", fake), 422, "resultats.pdf")
    # Unknown patient.
    nobody = new_conversation(personas.mother)
    nobody["subject"] = {
        "reference": "Patient?identifier=urn:oid:1.2.250.1.213.1.4.11|255081416802538"
    }
    assert_outcome(gp_software.post("Communication", nobody), 422, "Aucun espace santé")
    # Software never writes as the patient.
    as_patient = new_conversation(
        personas.mother, sender={"reference": f"Patient/{personas.mother.id}"}
    )
    assert_outcome(gp_software.post("Communication", as_patient), 422, "au nom d'un patient")
    assert Message.objects.count() == 0

    # A message the caller may not know: 404, whether it exists or not.
    first = gp_software.post("Communication", new_conversation(personas.mother)).json()
    assert_outcome(hospital_software.post("Communication", reply_to(first["id"])), 404)
    assert_outcome(hospital_software.get(f"Communication/{first['id']}"), 404)
    missing = "7b4f0e8e-0000-4000-8000-000000000000"
    assert_outcome(gp_software.post("Communication", reply_to(missing)), 404)
    assert_outcome(gp_software.get(f"Communication/{missing}"), 404)
    others = hospital_software.get("Communication", {"patient": str(personas.mother.id)})
    assert others.json()["total"] == 0

    # A closed conversation refuses follow-ups.
    dr_martin = _pro_actor(personas.gp, gp_software.finess)  # in the portal
    [conversation] = messaging.conversations_with(dr_martin, personas.mother)
    messaging.close_conversation(dr_martin, conversation, "Suivi terminé.")
    assert_outcome(gp_software.post("Communication", reply_to(first["id"])), 422, "fermée")

    # A professional the patient blocked can no longer write to her, nor follow up.
    echo = hospital_software.post("Communication", new_conversation(personas.mother, "Écho"))
    assert echo.status_code == 201, echo.text
    access.block_professional(_marie(personas), personas.mother, personas.hospital_doctor)
    assert_outcome(
        hospital_software.post("Communication", new_conversation(personas.mother)),
        422,
        "ne peut pas recevoir votre message",
    )
    assert_outcome(
        hospital_software.post("Communication", reply_to(echo.json()["id"])),
        422,
        "ne peut plus recevoir vos messages",
    )
    assert Message.objects.count() == 2


def _pro_actor(professional, finess):
    from espace_sante.access.policy import actor_for_user
    from espace_sante.identity.models import Organization

    return actor_for_user(
        professional.user, organization_id=Organization.objects.get(finess=finess).id
    )


def test_a_patient_app_cannot_start_a_conversation_except_to_a_pharmacy(
    live_server, gp_software, personas, marie_app
):
    from espace_sante.identity.models import Organization
    from espace_sante.messaging.models import Conversation
    from espace_sante.pharmacy import services as pharmacy

    to_doctor = {
        "resourceType": "Communication",
        "status": "completed",
        "subject": {"reference": f"Patient/{personas.mother.id}"},
        "recipient": [{"type": "Practitioner", "display": "Dr Claire Martin"}],
        "topic": {"text": "Une question"},
        "payload": [{"contentString": "Bonjour docteur"}],
    }
    refused = patient_post(live_server, marie_app, to_doctor)
    assert_outcome(refused, 422, "Vous ne pouvez pas commencer une conversation")
    assert Conversation.objects.count() == 0
    assert ("message_start", "denied") in [(a, o) for a, o, _ in _trail(personas.mother)]

    # To a pharmacy, with a photo of the prescription: it arrives in its inbox.
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 160), (240, 240, 235)).save(buffer, "JPEG")
    carmes = Organization.objects.get(name="Pharmacie des Carmes")
    prescription = {
        "resourceType": "Communication",
        "status": "completed",
        "recipient": [{"reference": f"Organization/{carmes.id}"}],
        "payload": [
            {"contentString": "Bonjour, voici mon ordonnance."},
            {
                "contentAttachment": {
                    "contentType": "image/jpeg",
                    "title": "ordonnance.jpg",
                    "data": base64.b64encode(buffer.getvalue()).decode(),
                }
            },
        ],
    }
    sent = patient_post(live_server, marie_app, prescription)
    assert sent.status_code == 201, sent.text
    assert sent.json()["recipient"][0]["display"] == "Pharmacie des Carmes"
    pharmacist = _pro_actor(personas.pharmacist, carmes.finess)
    [order] = pharmacy.pharmacy_inbox(pharmacist)
    assert order.order.patient_id == personas.mother.id

    # Professional software cannot use the patient door, nor a token without the scope.
    software_token = requests.post(
        f"{live_server.url}/fhir/R4/Communication",
        json=to_doctor,
        headers={"Authorization": f"Bearer {gp_software.token}"},
        timeout=30,
    )
    assert_outcome(software_token, 401, "X-Acting-Professional")
    audit_only = citizen_token(personas.mother, token="jeton-journal", scope="openid")
    assert_outcome(patient_post(live_server, audit_only, to_doctor), 403, "Communication.c")
    assert_outcome(patient_post(live_server, "faux", to_doctor), 401)


def test_the_capability_statement_lists_communication(gp_software):
    statement = gp_software.get("metadata").json()
    [resource] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Communication"]
    assert {i["code"] for i in resource["interaction"]} == {"create", "read", "search-type"}


def test_another_software_registered_for_the_hospital_starts_its_own(
    live_server, hospital, personas
):
    software = register(live_server, hospital, personas.hospital_doctor)
    created = software.post("Communication", new_conversation(personas.elder, "Échographie"))
    assert created.status_code == 201, created.text
    assert created.json()["sender"]["display"] == personas.hospital_doctor.display_name


def test_too_many_messages_in_an_hour(gp_software, personas, settings):
    settings.MESSAGING_PROFESSIONAL_MAX_PER_HOUR = 1
    first = gp_software.post("Communication", new_conversation(personas.mother))
    assert first.status_code == 201, first.text
    assert_outcome(
        gp_software.post("Communication", reply_to(first.json()["id"])),
        429,
        "Réessayez dans",
    )


def test_a_patient_app_replies_only_in_her_own_open_conversations(
    live_server, gp_software, personas, marie_app
):
    from espace_sante.messaging import services as messaging

    to_marie = gp_software.post("Communication", new_conversation(personas.mother)).json()
    to_jean = gp_software.post(
        "Communication", new_conversation(personas.elder, "Votre bilan")
    ).json()
    # Jean's message is not hers: as if it did not exist.
    assert_outcome(patient_post(live_server, marie_app, reply_to(to_jean["id"])), 404)
    dr_martin = _pro_actor(personas.gp, gp_software.finess)
    [conversation] = messaging.conversations_with(dr_martin, personas.mother)
    messaging.close_conversation(dr_martin, conversation, "Prenez rendez-vous au cabinet.")
    assert_outcome(patient_post(live_server, marie_app, reply_to(to_marie["id"])), 422, "fermée")
