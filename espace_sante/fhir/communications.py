"""Secure messaging through FHIR: ``Communication`` (interop.md, decision 0006).

One message is one ``Communication``. The first message of a conversation
carries ``topic.text`` (the subject); every later one has ``partOf`` = the
first message (the thread) and ``inResponseTo`` = the message before it.

Professional software (token + ``X-Acting-Professional``) starts a
conversation with a patient or writes in one of its own; a patient's app (a
citizen token with ``patient/Communication.c``) only replies in an open thread
or writes to a pharmacy. Everything goes through ``messaging.services`` (policy,
rate limits, encryption, audit); a ``MessagingRefused`` is a 422 whose
diagnostics is the service's French sentence, a ``NotAllowed`` a 404.
"""

import base64
import uuid

from django.core.files.base import ContentFile
from fhir.resources.R4B.communication import Communication

from espace_sante.access.policy import NotAllowed
from espace_sante.messaging import services as messaging
from espace_sante.messaging.models import Conversation
from espace_sante.pharmacy import services as pharmacy

from . import auth, mapping, patients
from .auth import ACTING_HEADER, AppToken, caller
from .documents import parse
from .http import FhirError, fhir_response, method_not_allowed, read_json, storage_full
from .views import base_url, endpoint

REPLY_MODE_URL = "https://espace-sante.example/fhir/StructureDefinition/reply-mode"
REPLY_MODES = {mode.value for mode in Conversation.ReplyMode}
SEARCH_PARAMS = {"patient", "patient.identifier", "subject", "part-of", "_format"}


def _refused(exc: messaging.MessagingRefused) -> FhirError:
    if exc.code == "storage_full":
        return storage_full()
    if exc.code == "rate_limited":
        # Too many messages this hour: the client may retry later, as the sentence says.
        return FhirError(429, exc.messages[0], code="throttled")
    return FhirError(422, exc.messages[0], code="business-rule")


def _malformed(message: str) -> FhirError:
    return FhirError(400, message, code="structure")


# --- Who writes ------------------------------------------------------------------------


def app_token(request) -> AppToken:
    """A patient's app (its citizen's own token) allowed to write messages.

    Professional software without its assertion is sent to what its own door
    lacks (the ``X-Acting-Professional`` header).
    """
    return auth.app_token(
        request,
        "Communication",
        "c",
        "Ce jeton ne permet pas d'écrire des messages : la portée "
        "patient/Communication.c (ou patient/Communication.write) est nécessaire.",
        software=caller,
    )


# --- Reading the posted resource --------------------------------------------------------


def _body(resource) -> str:
    texts = [item.contentString for item in resource.payload or [] if item.contentString]
    return "\n\n".join(texts)


def _attachments(resource) -> list[ContentFile]:
    files = []
    for number, item in enumerate(resource.payload or [], start=1):
        attachment = item.contentAttachment
        if attachment is None:
            if item.contentReference is not None:
                raise _malformed(
                    "payload.contentReference n'est pas pris en charge : joignez le fichier "
                    "dans payload.contentAttachment.data (base 64)."
                )
            continue
        if not attachment.data:
            raise _malformed(
                f"Pièce jointe n° {number} : le contenu doit être dans contentAttachment.data "
                "(base 64) ; une url n'est pas suivie."
            )
        # fhir.resources already decoded the base 64 (and refused it when invalid).
        data = attachment.data
        file = ContentFile(data, name=attachment.title or f"piece-jointe-{number}")
        file.declared_type = attachment.contentType or ""  # checked against the bytes
        files.append(file)
    return files


def _reply_mode(resource) -> str:
    for extension in resource.extension or []:
        if extension.url == REPLY_MODE_URL:
            value = extension.valueCode or ""
            if value not in REPLY_MODES:
                raise _malformed(
                    f"Mode de réponse « {value} » inconnu : reply (le patient peut répondre), "
                    "blocked (réponses bloquées) ou none (message sans réponse)."
                )
            return value
    return Conversation.ReplyMode.REPLY


def _message_id(reference: str) -> str:
    kind, _, value = (reference or "").partition("/")
    if kind != "Communication" or not value:
        raise _malformed(
            f"Référence « {reference} » non comprise : un message se désigne par "
            "Communication/{id}."
        )
    return value


def _thread_target(resource) -> str | None:
    """The message a reply points at (``inResponseTo``, else ``partOf``), if any."""
    for field in (resource.inResponseTo, resource.partOf):
        for ref in field or []:
            return _message_id(ref.reference)
    return None


def _subject(resource):
    if resource.subject is None:
        return None
    return patients.from_reference(resource.subject.reference, resource.subject.identifier)


def _is_own_organization(reference, organization) -> bool:
    if reference.reference:
        return reference.reference.split("/", 1)[-1] in (str(organization.id), organization.finess)
    return bool(reference.identifier and reference.identifier.value == organization.finess)


def _kind_of(reference) -> str:
    if reference is None:
        return ""
    if reference.reference:
        return reference.reference.split("/", 1)[0].split("?", 1)[0]
    return reference.type or ""


# --- Writing ----------------------------------------------------------------------------


def _professional_create(request, resource):
    who = caller(request)
    if _kind_of(resource.sender) in ("Patient", "RelatedPerson"):
        raise FhirError(
            422,
            "Un logiciel de professionnel n'écrit pas au nom d'un patient : l'expéditeur est "
            "le professionnel (ou la messagerie de sa structure).",
            code="business-rule",
        )
    for recipient in resource.recipient or []:
        if _kind_of(recipient) not in ("Patient", ""):
            raise FhirError(
                422,
                "Un message s'adresse au patient : recipient doit être le Patient (ou absent).",
                code="business-rule",
            )
    from_mailbox = _kind_of(resource.sender) == "Organization"
    if from_mailbox and not _is_own_organization(resource.sender, who.client.organization):
        raise FhirError(
            422,
            "L'expéditeur Organization doit être la structure de ce logiciel "
            f"(FINESS {who.client.organization.finess}).",
            code="business-rule",
        )
    body, files = _body(resource), _attachments(resource)
    target = _thread_target(resource)
    try:
        if target is not None:
            conversation = messaging.conversation_of_message(who.actor, target)
            subject = _subject(resource)
            if subject is not None and subject.id != conversation.patient_id:
                raise FhirError(
                    422,
                    "Le patient (subject) n'est pas celui de la conversation.",
                    code="business-rule",
                )
            message = messaging.reply(who.actor, conversation, body, files)
            return _answer_created(request, who.actor, conversation, message.id)
        person = _subject(resource)
        if person is None:
            if resource.subject is None:
                raise _malformed("Le patient (subject) est obligatoire pour une conversation.")
            raise FhirError(
                422,
                "Aucun espace santé ne correspond à ce patient : vérifiez son INS.",
                code="not-found",
            )
        conversation = messaging.start_conversation(
            who.actor,
            person,
            subject=resource.topic.text if resource.topic else "",
            body=body,
            attachments=files,
            reply_mode=_reply_mode(resource),
            from_mailbox=from_mailbox,
        )
    except messaging.MessagingRefused as exc:
        raise _refused(exc) from None
    return _answer_created(request, who.actor, conversation, None)


def _patient_create(request, resource):
    # The app acts on its citizen's own record (SMART's patient context); the
    # policy checks the grant of whichever record the message belongs to.
    actor = app_token(request).actor()
    body, files = _body(resource), _attachments(resource)
    target = _thread_target(resource)
    try:
        if target is not None:
            # A reply: the message must be in one of her conversations, the thread open.
            conversation = messaging.conversation_of_message(actor, target)
            message = messaging.reply(actor, conversation, body, files)
            return _answer_created(request, actor, conversation, message.id)
        person = _subject(resource) if resource.subject else patients.by_id(actor.person_id)
        if person is None:
            raise NotAllowed
        to_pharmacy = None
        for recipient in resource.recipient or []:
            if _kind_of(recipient) == "Organization" and recipient.reference:
                to_pharmacy = pharmacy.find_pharmacy(recipient.reference.split("/", 1)[1])
        if to_pharmacy is None:
            # The service refuses with its own sentence and traces the attempt.
            messaging.start_conversation(actor, person, subject="", body=body)
        if len(files) != 1:
            raise FhirError(
                422,
                "Joignez l'ordonnance : une seule pièce jointe (photo ou PDF) dans "
                "payload.contentAttachment.",
                code="business-rule",
            )
        order = pharmacy.send_prescription(actor, person, to_pharmacy, photo=files[0], note=body)
    except messaging.MessagingRefused as exc:
        raise _refused(exc) from None
    return _answer_created(request, actor, order.conversation, None)


def _answer_created(request, actor, conversation, message_id):
    page = messaging.read_conversation(actor, conversation)
    shown = page.messages[-1] if message_id is None else _find(page, message_id)
    resource = _resource(page, shown, base_url(request))
    location = f"{base_url(request)}/Communication/{shown.message.id}"
    return fhir_response(resource, 201, headers={"Location": location})


def _find(page, message_id):
    for shown in page.messages:
        if shown.message.id == message_id:
            return shown
    raise NotAllowed


# --- Mapping ----------------------------------------------------------------------------


def _party(message, conversation) -> dict:
    """Who wrote a message, as a reference FHIR clients can read without our directory."""
    if message.from_patient_side:
        return {"reference": f"Patient/{message.author_person_id}"}
    return _professional_side(conversation)


def _professional_side(conversation) -> dict:
    """The professionals' side of a conversation: its professional, or the organisation."""
    pro = conversation.sender_professional
    if pro is not None and not conversation.started_by_patient:
        return mapping.practitioner(pro)
    if conversation.organization is not None:
        return mapping.organization(conversation.organization)
    return {"display": "Un professionnel de santé"}


def _resource(page, shown, base: str, data: dict | None = None) -> dict:
    conversation = page.conversation
    message = shown.message
    first = page.messages[0].message
    index = next(i for i, item in enumerate(page.messages) if item.message.id == message.id)
    patient_ref = {
        "reference": f"Patient/{conversation.patient_id}",
        "identifier": mapping.ins_identifier(conversation.patient),
    }
    resource = {
        "resourceType": "Communication",
        "id": str(message.id),
        "meta": {"lastUpdated": message.created_at.isoformat()},
        "extension": [{"url": REPLY_MODE_URL, "valueCode": conversation.reply_mode}],
        "status": "completed",
        "subject": patient_ref,
        "topic": {"text": page.subject},
        "sent": message.created_at.isoformat(),
        "sender": _party(message, conversation),
        "recipient": [
            _professional_side(conversation) if message.from_patient_side else patient_ref
        ],
        "payload": [{"contentString": shown.body}],
    }
    if shown.read_ack is not None:
        resource["received"] = shown.read_ack.isoformat()  # the read acknowledgement
    if index > 0:
        resource["partOf"] = [{"reference": f"Communication/{first.id}"}]
        previous = page.messages[index - 1].message
        resource["inResponseTo"] = [{"reference": f"Communication/{previous.id}"}]
    if conversation.closed_at is not None:
        resource["note"] = [{"text": f"Conversation fermée : {page.close_reason}".strip()}]
    for item in shown.attachments:
        attachment = {
            "contentType": item.attachment.mime_type,
            "size": item.attachment.size,
            "title": item.filename,
            "creation": item.attachment.created_at.isoformat(),
        }
        if data is not None and item.attachment.id in data:
            attachment["data"] = data[item.attachment.id]
        else:
            attachment["url"] = f"{base}/Communication/{message.id}"
        resource["payload"].append({"contentAttachment": attachment})
    return resource


def _bundle(request, entries: list[dict]) -> dict:
    base = base_url(request)
    return mapping.searchset(entries, len(entries), [("self", request.build_absolute_uri())], base)


# --- Endpoints --------------------------------------------------------------------------


def _search(request):
    who = caller(request)
    unknown = set(request.GET) - SEARCH_PARAMS
    if unknown:
        raise FhirError(
            400,
            f"Paramètre(s) non pris en charge pour Communication : {', '.join(sorted(unknown))} "
            "(patient, patient.identifier, part-of).",
            code="not-supported",
        )
    part_of = request.GET.get("part-of")
    if part_of:
        try:
            conversations = [
                messaging.conversation_of_message(who.actor, _message_id(part_of.strip()))
            ]
        except NotAllowed:
            conversations = []
    else:
        person = None
        if request.GET.get("patient") or request.GET.get("subject"):
            value = request.GET.get("patient") or request.GET.get("subject")
            person = patients.by_id(value.rsplit("/", 1)[-1])
        elif request.GET.get("patient.identifier"):
            person = patients.ins_lookup(*patients.parse_token(request.GET["patient.identifier"]))
        else:
            raise FhirError(
                400,
                "Le patient est obligatoire : patient=<id>, "
                "patient.identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR> "
                "ou part-of=Communication/<id>.",
                code="required",
            )
        conversations = messaging.conversations_with(who.actor, person) if person else []
    base = base_url(request)
    entries = []
    for conversation in conversations:
        page = messaging.read_conversation(who.actor, conversation)
        entries += [_resource(page, shown, base) for shown in page.messages]
    return fhir_response(_bundle(request, entries))


@endpoint
def communications(request):
    if request.method == "GET":
        return _search(request)
    if request.method != "POST":
        raise method_not_allowed(request, "GET, POST")
    resource = parse(Communication, read_json(request))
    if request.headers.get(ACTING_HEADER):
        return _professional_create(request, resource)
    return _patient_create(request, resource)


@endpoint
def communication(request, resource_id):
    """One message, its attachments inline (each download traced)."""
    if request.method != "GET":
        raise method_not_allowed(request, "GET")
    who = caller(request)
    try:
        message_id = uuid.UUID(resource_id)
    except ValueError:
        raise NotAllowed from None
    conversation = messaging.conversation_of_message(who.actor, message_id)
    page = messaging.read_conversation(who.actor, conversation)
    shown = _find(page, message_id)
    data = {}
    for item in shown.attachments:
        attachment, _ = messaging.access_attachment(who.actor, item.attachment.id)
        data[attachment.id] = base64.b64encode(
            b"".join(messaging.iter_attachment(attachment))
        ).decode()
    return fhir_response(_resource(page, shown, base_url(request), data))
