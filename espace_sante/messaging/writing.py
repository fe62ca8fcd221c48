"""Writing: start a conversation, reply, close, delete (services.md, « Secure messaging »)."""

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from espace_sante.access import policy
from espace_sante.access.guard import Access, decide, refuse
from espace_sante.access.policy import ActorKind, MessageAction, NotAllowed
from espace_sante.crypto import blobs
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person

from .attachments import CheckedFile, store_attachments
from .models import Attachment, Conversation, Message
from .notices import enqueue_notification
from .rules import (
    BODY,
    CLOSE_REASON,
    FILENAME,
    PATIENT_CANNOT_START,
    SUBJECT,
    MessagingRefused,
    check_access,
    check_rate,
    clean_body,
    clean_subject,
    is_patient_side,
)

logger = logging.getLogger(__name__)

# --- Writing ------------------------------------------------------------------------


def _new_message(
    actor, conversation: Conversation, body: str, files: list[CheckedFile], now: datetime
) -> Message:
    patient_side = is_patient_side(actor)
    if patient_side:
        author_kind = Message.AuthorKind.PATIENT
    elif conversation.sender_professional_id is None and conversation.organization_id:
        author_kind = Message.AuthorKind.ORGANIZATION
    else:
        author_kind = Message.AuthorKind.PROFESSIONAL
    message_id = uuid.uuid4()
    message = Message.objects.create(
        id=message_id,
        patient_id=conversation.patient_id,
        conversation=conversation,
        author_kind=author_kind,
        author_person_id=actor.person_id if patient_side else None,
        author_professional_id=None if patient_side else actor.professional_id,
        author_organization_id=None if patient_side else actor.organization_id,
        body_encrypted=crypto.encrypt_text(conversation.patient_id, message_id, body, purpose=BODY),
        created_at=now,
        # Who writes has read what they wrote.
        read_by_patient_at=now if patient_side else None,
        read_by_professional_at=None if patient_side else now,
    )
    for item in files:
        Attachment.objects.create(
            id=item.attachment_id,
            patient_id=conversation.patient_id,
            message=message,
            filename_encrypted=crypto.encrypt_text(
                conversation.patient_id, item.attachment_id, item.filename, purpose=FILENAME
            ),
            mime_type=item.mime_type,
            size=item.size,
            sha256=item.sha256,
            blob_name=item.blob_name,
        )
    if not patient_side:
        transaction.on_commit(partial(enqueue_notification, message.id))
    return message


def _write(actor, patient: Person, attachments, create):
    """Check, store the files, then the rows and the audit entry in one transaction.

    The blobs are durable before the rows; if the rows cannot be written, the
    blobs are removed, so a failure never leaves a message with missing files.
    """
    files = store_attachments(actor, patient, attachments)
    try:
        with transaction.atomic():
            return create(files)
    except BaseException:
        blobs.delete(item.blob_name for item in files)
        raise


def start_conversation(
    actor,
    patient: Person,
    *,
    subject: str,
    body: str,
    attachments: Iterable = (),
    reply_mode: str = Conversation.ReplyMode.REPLY,
    from_mailbox: bool = False,
) -> Conversation:
    """A professional (acting for an organisation) writes to a patient.

    ``from_mailbox``: the conversation belongs to the organisation's mailbox
    (any of its professionals may follow it up), not to the professional.
    A patient is refused with a clear message (they reply, they never start),
    and so is a professional the patient blocked.
    """
    if is_patient_side(actor):
        refuse(actor, MessageAction.START, patient.id, object_type="conversation")
        raise MessagingRefused(PATIENT_CANNOT_START, code="patient_cannot_start")
    reply_mode = Conversation.ReplyMode(reply_mode)
    if actor is not None and actor.kind == ActorKind.PROFESSIONAL and not actor.organization_id:
        raise MessagingRefused(
            "Choisissez d'abord la structure pour laquelle vous exercez : vos messages sont "
            "envoyés en son nom.",
            code="organization",
        )
    try:
        starting = check_access(actor, MessageAction.START, patient.id)
    except NotAllowed:
        raise MessagingRefused(
            "Ce patient ne peut pas recevoir votre message : son espace santé n'est pas "
            "ouvert, ou il ne souhaite pas recevoir vos messages.",
            code="recipient_refused",
        ) from None
    return open_conversation(
        actor,
        patient,
        starting,
        subject=subject,
        body=body,
        attachments=attachments,
        kind=Conversation.Kind.CARE,
        sender_professional_id=None if from_mailbox else actor.professional_id,
        organization_id=actor.organization_id,
        reply_mode=reply_mode,
    )


def open_conversation(
    actor, patient: Person, starting: Access, *, subject: str, body: str, attachments, **fields
) -> Conversation:
    """The new conversation and its first message, traced from the decision to start.

    ``starting`` is the allowed access to ``MessageAction.START`` (``check_access``);
    ``fields`` are the conversation's own (kind, organisation, sender, reply mode).
    The pharmacy starts its conversations through this function.
    """
    subject, body = clean_subject(subject), clean_body(body)
    check_rate(actor)

    def create(files):
        check_rate(actor, locked=True)  # counted again, the sender's parallel messages seen
        now = timezone.now()
        conversation_id = uuid.uuid4()
        conversation = Conversation.objects.create(
            id=conversation_id,
            patient=patient,
            subject_encrypted=crypto.encrypt_text(
                patient.id, conversation_id, subject, purpose=SUBJECT
            ),
            last_message_at=now,
            **fields,
        )
        message = _new_message(actor, conversation, body, files, now)
        starting.trace(conversation)
        starting.trace(message, event=MessageAction.SEND)
        return conversation

    return _write(actor, patient, attachments, create)


def access_conversation(actor, conversation_id, action=MessageAction.READ) -> Conversation:
    """The conversation if ``actor`` may do ``action`` on it; otherwise ``NotAllowed``.

    The refusal does not say whether the conversation exists (views answer 404).
    """
    try:
        conversation = Conversation.objects.select_related(
            "sender_professional", "organization", "patient", "closed_by"
        ).get(pk=conversation_id)
    except (Conversation.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotAllowed from None
    check_access(actor, action, conversation.patient_id, conversation)
    return conversation


def conversation_of_message(actor, message_id, action=MessageAction.READ) -> Conversation:
    """The conversation a message belongs to, if ``actor`` may do ``action`` on it.

    The FHIR door names messages (``Communication/{id}``), not conversations; a
    refusal does not say whether the message exists.
    """
    try:
        message = Message.objects.only("conversation_id").get(pk=message_id)
    except (Message.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotAllowed from None
    return access_conversation(actor, message.conversation_id, action)


def reply(actor, conversation: Conversation, body: str, attachments: Iterable = ()) -> Message:
    """Write in an existing conversation (the patient replies, the professional follows up).

    A closed conversation, one whose replies are blocked, or one with a
    professional the patient blocked refuses with a message that says so.
    """
    try:
        sending = check_access(actor, MessageAction.SEND, conversation.patient_id, conversation)
    except NotAllowed:
        raise MessagingRefused(why_no_reply(actor, conversation), code="reply_refused") from None
    body = clean_body(body)
    check_rate(actor)
    patient = conversation.patient

    def create(files):
        now = timezone.now()
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        # Decided again on the locked row: closed or deleted since the page was shown.
        if not decide(actor, MessageAction.SEND, locked.patient_id, conversation=locked):
            raise MessagingRefused(why_no_reply(actor, locked), code="reply_refused")
        check_rate(actor, locked=True)  # counted again, the sender's parallel messages seen
        message = _new_message(actor, locked, body, files, now)
        Conversation.objects.filter(pk=locked.pk).update(
            last_message_at=now, retention_warned_at=None
        )
        sending.trace(message)
        return message

    return _write(actor, patient, attachments, create)


def why_no_reply(actor, conversation: Conversation) -> str:
    if conversation.closed_at is not None:
        return "Cette conversation est fermée : vous ne pouvez plus y répondre."
    if is_patient_side(actor):
        if policy.sender_is_blocked(conversation.patient_id, conversation):
            return (
                "Vous avez bloqué ce professionnel : cette conversation est fermée. Vous pouvez "
                "le débloquer dans Paramètres."
            )
        if conversation.reply_mode == Conversation.ReplyMode.REPLIES_BLOCKED:
            return "Le professionnel a bloqué les réponses à cette conversation."
        if conversation.reply_mode == Conversation.ReplyMode.NO_REPLY:
            return "Ce message n'attend pas de réponse : vous ne pouvez pas y répondre."
        return "Vous ne pouvez pas répondre à cette conversation."
    if conversation.patient_deleted_at is not None:
        return (
            "Le patient a supprimé cette conversation de son espace : pour lui écrire, "
            "commencez une nouvelle conversation."
        )
    return "Ce patient ne peut plus recevoir vos messages : la conversation est fermée pour vous."


def close_conversation(actor, conversation: Conversation, reason: str) -> Conversation:
    """The professional closes the conversation; the patient sees why and cannot reply."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise MessagingRefused(
            "Indiquez au patient pourquoi vous fermez la conversation.", code="reason"
        )
    closing = check_access(actor, MessageAction.CLOSE, conversation.patient_id, conversation)
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.closed_at is not None:
            return locked  # closed by a parallel request: the first date and reason hold
        conversation.closed_at = timezone.now()
        conversation.closed_by_id = actor.professional_id
        conversation.close_reason_encrypted = crypto.encrypt_text(
            conversation.patient_id, conversation.id, reason[:500], purpose=CLOSE_REASON
        )
        conversation.save(update_fields=["closed_at", "closed_by", "close_reason_encrypted"])
        closing.trace(conversation)
    return conversation


def delete_for_patient(actor, conversation: Conversation) -> None:
    """The patient removes a conversation and its attachments from their space.

    The professionals' copy stays (their own correspondence) until the
    retention period removes everything.
    """
    deleting = check_access(actor, MessageAction.DELETE, conversation.patient_id, conversation)
    with transaction.atomic():
        now = timezone.now()
        # Only the first of parallel deletions changes the row, and only it is traced.
        deleted = Conversation.objects.filter(
            pk=conversation.pk, patient_deleted_at__isnull=True
        ).update(patient_deleted_at=now)
        if deleted:
            conversation.patient_deleted_at = now
            deleting.trace(conversation)
