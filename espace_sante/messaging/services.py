"""Secure messaging: start, read, reply, close, delete, attachments (services.md).

Every function takes the acting ``Actor`` and goes through ``access.guard``;
every decision, allowed or refused, is appended to the audit trail in the
transaction of the action. The web pages and, later, the FHIR ``Communication``
door call these same functions.

Only professionals (for an organisation, or its mailbox) start a conversation;
the patient's side reads and replies, and starts only to send a prescription
to a pharmacy (``start_prescription_conversation``, called by the pharmacy app).
"""

import logging
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from espace_sante.access import events as audit_events
from espace_sante.access import policy
from espace_sante.access.guard import Access, decide, guard, refuse
from espace_sante.access.policy import ActorKind, Decision, MessageAction, NotAllowed
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Organization, Person, Professional
from espace_sante.record import services as record
from espace_sante.record.reference import PATIENT_CATEGORY_TYPES
from espace_sante.record.uploads import UploadRefused, inspect_upload

from .models import Attachment, Conversation, Message

logger = logging.getLogger(__name__)

SUBJECT = "subject"
BODY = "body"
CLOSE_REASON = "close_reason"
FILENAME = "filename"
SUBJECT_MAX = 200

PATIENT_CANNOT_START = (
    "Vous ne pouvez pas commencer une conversation avec un professionnel de santé : ce sont "
    "les professionnels qui vous écrivent, et vous pouvez leur répondre. Pour envoyer une "
    "ordonnance, utilisez « Envoyer une ordonnance à une pharmacie »."
)


class MessagingRefused(ValidationError):
    """A message we do not send; the French sentence says why and what to do."""


# --- Policy and audit ------------------------------------------------------------


def _check(actor, action, patient_id, conversation=None, *, obj=None, to_pharmacy=False) -> Access:
    """The guard on the patient's messaging; a refusal is traced (on its own) and raised.

    The allowed access is traced by the caller once its object exists.
    """
    return guard(
        actor,
        action,
        patient_id,
        obj,
        conversation=conversation,
        to_pharmacy=to_pharmacy,
        object_type="" if (obj or conversation) else "conversation",
        trace=False,
    )


def _is_patient_side(actor) -> bool:
    # A patient's connected app writes as its citizen would (access.grants).
    return actor is not None and actor.kind in (ActorKind.PATIENT, ActorKind.APP)


# --- Rate limits -----------------------------------------------------------------


def _check_rate(actor) -> None:
    """At most N messages per sender per hour (settings), then a clear refusal."""
    since = timezone.now() - timedelta(hours=1)
    if _is_patient_side(actor):
        sent = Message.objects.filter(author_person_id=actor.person_id, created_at__gte=since)
        limit = settings.MESSAGING_PATIENT_MAX_PER_HOUR
    else:
        sent = Message.objects.filter(
            author_professional_id=actor.professional_id, created_at__gte=since
        )
        limit = settings.MESSAGING_PROFESSIONAL_MAX_PER_HOUR
    count = sent.count()
    if count >= limit:
        oldest = sent.order_by("created_at").values_list("created_at", flat=True)[count - limit]
        wait = max(1, int((oldest + timedelta(hours=1) - timezone.now()).total_seconds() // 60) + 1)
        raise MessagingRefused(
            f"Vous avez envoyé {limit} message{'s' if limit > 1 else ''} au cours de la "
            "dernière heure, le maximum "
            f"autorisé. Réessayez dans {wait} minute{'s' if wait > 1 else ''}.",
            code="rate_limited",
        )


# --- Text ------------------------------------------------------------------------


def _clean_subject(subject: str) -> str:
    clean = " ".join((subject or "").split())
    if not clean:
        raise MessagingRefused("Donnez un objet à votre message.", code="subject")
    if len(clean) > SUBJECT_MAX:
        raise MessagingRefused(
            f"L'objet est trop long ({SUBJECT_MAX} caractères au maximum).", code="subject"
        )
    return clean


def _clean_body(body: str) -> str:
    # Plain text only: kept as typed, shown escaped (links made clickable on display).
    clean = (body or "").replace("\r\n", "\n").strip()
    if not clean:
        raise MessagingRefused("Écrivez votre message avant de l'envoyer.", code="body")
    limit = settings.MESSAGING_BODY_MAX_CHARS
    if len(clean) > limit:
        raise MessagingRefused(
            f"Votre message est trop long ({len(clean)} caractères, {limit} au maximum).",
            code="body",
        )
    return clean


# --- Attachments: checked, encrypted, durable -----------------------------------------


@dataclass
class _CheckedFile:
    attachment_id: uuid.UUID
    filename: str
    mime_type: str
    size: int
    sha256: str
    blob_name: str


def attachment_limits(actor) -> tuple[int, list[str]]:
    """Largest size and accepted types for an attachment sent by ``actor``."""
    max_bytes = settings.MESSAGING_ATTACHMENT_MAX_BYTES
    allowed = list(settings.MESSAGING_ATTACHMENT_ALLOWED_TYPES)
    if _is_patient_side(actor):
        # What a patient sends stays within what they may add to their documents.
        max_bytes = min(max_bytes, settings.RECORD_PATIENT_MAX_BYTES)
        allowed = [t for t in allowed if t in settings.RECORD_PATIENT_ALLOWED_TYPES]
    return max_bytes, allowed


def _blob_name(patient_id, attachment_id) -> str:
    # Beside the patient's documents, in a folder of its own: the documents'
    # orphan sweep lists only its own files.
    return f"patients/{patient_id}/messages/{attachment_id}.bin"


def _store_blob(patient_id, attachment_id, plaintext_path: str) -> str:
    name = _blob_name(patient_id, attachment_id)
    tmp_dir = settings.VAR_DIR / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    storage = record.blob_storage()
    with tempfile.TemporaryFile(dir=tmp_dir) as ciphertext:
        with open(plaintext_path, "rb") as source:
            with crypto.open_encrypting_stream(patient_id, attachment_id, ciphertext) as sink:
                while chunk := source.read(64 * 1024):
                    sink.write(chunk)
        ciphertext.flush()
        ciphertext.seek(0)
        stored = storage.save(name, File(ciphertext, name=name))
    if stored != name:
        storage.delete(stored)
        raise RuntimeError("Nom de blob déjà pris")
    try:
        path = storage.path(stored)
    except NotImplementedError:  # object storage: durable when save() returns
        return stored
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # durable before the row says it exists
    finally:
        os.close(fd)
    return stored


def _store_attachments(actor, patient: Person, uploads: Iterable) -> list[_CheckedFile]:
    """Check every file, then encrypt each into the blob store. All or nothing."""
    uploads = [upload for upload in uploads if upload]
    if len(uploads) > settings.MESSAGING_MAX_ATTACHMENTS:
        raise MessagingRefused(
            f"Joignez au plus {settings.MESSAGING_MAX_ATTACHMENTS} fichiers à un message.",
            code="too_many_files",
        )
    max_bytes, allowed = attachment_limits(actor)
    stored: list[_CheckedFile] = []
    try:
        for upload in uploads:
            name = os.path.basename(getattr(upload, "name", "") or "piece-jointe")[:150]
            try:
                inspected = inspect_upload(upload, max_bytes=max_bytes, allowed_types=allowed)
            except UploadRefused as refusal:
                raise MessagingRefused(
                    f"« {name} » : {refusal.messages[0]}", code=refusal.code
                ) from None
            attachment_id = uuid.uuid4()
            try:
                crypto.ensure_keys(patient)
                blob_name = _store_blob(patient.id, attachment_id, inspected.path)
            finally:
                inspected.cleanup()
            stored.append(
                _CheckedFile(
                    attachment_id,
                    name,
                    inspected.mime_type,
                    inspected.size,
                    inspected.sha256,
                    blob_name,
                )
            )
    except BaseException:
        _delete_blobs([item.blob_name for item in stored])
        raise
    return stored


def _delete_blobs(names: list[str]) -> None:
    storage = record.blob_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # sweep_orphan_attachments removes it later
            logger.warning("Pièce jointe non supprimée : %s", name)


# --- Writing ------------------------------------------------------------------------


def _new_message(
    actor, conversation: Conversation, body: str, files: list[_CheckedFile], now: datetime
) -> Message:
    patient_side = _is_patient_side(actor)
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
        transaction.on_commit(partial(_enqueue_notification, message.id))
    return message


def _write(actor, patient: Person, attachments, create):
    """Check, store the files, then the rows and the audit entry in one transaction.

    The blobs are durable before the rows; if the rows cannot be written, the
    blobs are removed, so a failure never leaves a message with missing files.
    """
    files = _store_attachments(actor, patient, attachments)
    try:
        with transaction.atomic():
            return create(files)
    except BaseException:
        _delete_blobs([item.blob_name for item in files])
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
    if _is_patient_side(actor):
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
        starting = _check(actor, MessageAction.START, patient.id)
    except NotAllowed:
        raise MessagingRefused(
            "Ce patient ne peut pas recevoir votre message : son espace santé n'est pas "
            "ouvert, ou il ne souhaite pas recevoir vos messages.",
            code="recipient_refused",
        ) from None
    subject, body = _clean_subject(subject), _clean_body(body)
    _check_rate(actor)

    def create(files):
        now = timezone.now()
        conversation_id = uuid.uuid4()
        conversation = Conversation.objects.create(
            id=conversation_id,
            patient=patient,
            kind=Conversation.Kind.CARE,
            subject_encrypted=crypto.encrypt_text(
                patient.id, conversation_id, subject, purpose=SUBJECT
            ),
            sender_professional_id=None if from_mailbox else actor.professional_id,
            organization_id=actor.organization_id,
            reply_mode=reply_mode,
            last_message_at=now,
        )
        message = _new_message(actor, conversation, body, files, now)
        starting.trace(conversation)
        starting.trace(message, event=MessageAction.SEND)
        return conversation

    return _write(actor, patient, attachments, create)


def start_prescription_conversation(
    actor, patient: Person, pharmacy: Organization, *, subject: str, body: str, attachments
) -> Conversation:
    """The one conversation a patient starts: a prescription sent to a pharmacy."""
    if pharmacy.kind != "pharmacy":
        raise MessagingRefused(
            "Vous ne pouvez écrire en premier qu'à une pharmacie.", code="not_a_pharmacy"
        )
    starting = _check(actor, MessageAction.START, patient.id, to_pharmacy=True)
    subject, body = _clean_subject(subject), _clean_body(body)
    attachments = [a for a in attachments if a]
    if not attachments:
        raise MessagingRefused(
            "Joignez l'ordonnance : un document de votre espace ou une photo.",
            code="no_prescription",
        )
    _check_rate(actor)

    def create(files):
        now = timezone.now()
        conversation_id = uuid.uuid4()
        conversation = Conversation.objects.create(
            id=conversation_id,
            patient=patient,
            kind=Conversation.Kind.PRESCRIPTION,
            subject_encrypted=crypto.encrypt_text(
                patient.id, conversation_id, subject, purpose=SUBJECT
            ),
            organization=pharmacy,
            started_by_patient=True,
            last_message_at=now,
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
    _check(actor, action, conversation.patient_id, conversation)
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
        sending = _check(actor, MessageAction.SEND, conversation.patient_id, conversation)
    except NotAllowed:
        raise MessagingRefused(_why_no_reply(actor, conversation), code="reply_refused") from None
    body = _clean_body(body)
    _check_rate(actor)
    patient = conversation.patient

    def create(files):
        now = timezone.now()
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        # Decided again on the locked row: closed or deleted since the page was shown.
        if not decide(actor, MessageAction.SEND, locked.patient_id, conversation=locked):
            raise MessagingRefused(_why_no_reply(actor, locked), code="reply_refused")
        message = _new_message(actor, locked, body, files, now)
        Conversation.objects.filter(pk=locked.pk).update(
            last_message_at=now, retention_warned_at=None
        )
        sending.trace(message)
        return message

    return _write(actor, patient, attachments, create)


def _why_no_reply(actor, conversation: Conversation) -> str:
    if conversation.closed_at is not None:
        return "Cette conversation est fermée : vous ne pouvez plus y répondre."
    if _is_patient_side(actor):
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
    closing = _check(actor, MessageAction.CLOSE, conversation.patient_id, conversation)
    with transaction.atomic():
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
    deleting = _check(actor, MessageAction.DELETE, conversation.patient_id, conversation)
    with transaction.atomic():
        conversation.patient_deleted_at = timezone.now()
        Conversation.objects.filter(pk=conversation.pk).update(
            patient_deleted_at=conversation.patient_deleted_at
        )
        deleting.trace(conversation)


# --- Reading ------------------------------------------------------------------------


def subject_of(conversation: Conversation) -> str:
    return crypto.decrypt_text(
        conversation.patient_id,
        conversation.id,
        bytes(conversation.subject_encrypted),
        purpose=SUBJECT,
    )


def close_reason_of(conversation: Conversation) -> str:
    if conversation.close_reason_encrypted is None:
        return ""
    return crypto.decrypt_text(
        conversation.patient_id,
        conversation.id,
        bytes(conversation.close_reason_encrypted),
        purpose=CLOSE_REASON,
    )


@dataclass
class ShownAttachment:
    attachment: Attachment
    filename: str


@dataclass
class ShownMessage:
    message: Message
    body: str
    author: str
    attachments: list[ShownAttachment]
    mine: bool  # written by the side reading it

    @property
    def read_ack(self):
        """When the other side read it (the sender's read acknowledgement)."""
        if self.message.from_patient_side:
            return self.message.read_by_professional_at
        return self.message.read_by_patient_at


@dataclass
class ConversationPage:
    conversation: Conversation
    subject: str
    messages: list[ShownMessage]
    close_reason: str
    may_reply: bool
    no_reply_reason: str
    may_close: bool
    patient_side: bool
    prescription_order: object = None


def _author_label(message: Message, people: dict, pros: dict, orgs: dict) -> str:
    if message.author_kind == Message.AuthorKind.PATIENT:
        person = people.get(message.author_person_id)
        return person.display_name if person else "Le patient"
    pro = pros.get(message.author_professional_id)
    org = orgs.get(message.author_organization_id)
    if message.author_kind == Message.AuthorKind.ORGANIZATION and org is not None:
        return f"{org.name} ({pro.display_name})" if pro else org.name
    if pro is not None:
        return f"{pro.display_name}, {org.name}" if org else pro.display_name
    return org.name if org else "Un professionnel de santé"


def read_conversation(actor, conversation: Conversation) -> ConversationPage:
    """Every message, decrypted, for a conversation already accessed; marks them read.

    The read is traced; the other side's messages get their read acknowledgement.
    """
    reading = _check(actor, MessageAction.READ, conversation.patient_id, conversation)
    patient_side = _is_patient_side(actor)
    with transaction.atomic():
        messages = list(
            Message.objects.filter(patient_id=conversation.patient_id, conversation=conversation)
            .prefetch_related("attachments")
            .order_by("created_at")
        )
        people = {
            p.id: p
            for p in Person.objects.filter(id__in={m.author_person_id for m in messages} - {None})
        }
        pros = {
            p.id: p
            for p in Professional.objects.filter(
                id__in={m.author_professional_id for m in messages} - {None}
            )
        }
        orgs = {
            o.id: o
            for o in Organization.objects.filter(
                id__in={m.author_organization_id for m in messages} - {None}
            )
        }
        shown = []
        for message in messages:
            body = crypto.decrypt_text(
                message.patient_id, message.id, bytes(message.body_encrypted), purpose=BODY
            )
            attachments = [
                ShownAttachment(
                    attachment,
                    crypto.decrypt_text(
                        attachment.patient_id,
                        attachment.id,
                        bytes(attachment.filename_encrypted),
                        purpose=FILENAME,
                    ),
                )
                for attachment in message.attachments.all()
            ]
            shown.append(
                ShownMessage(
                    message,
                    body,
                    _author_label(message, people, pros, orgs),
                    attachments,
                    mine=message.from_patient_side == patient_side,
                )
            )
        now = timezone.now()
        unread = Message.objects.filter(
            patient_id=conversation.patient_id, conversation=conversation
        )
        if patient_side:
            unread.filter(read_by_patient_at__isnull=True, author_kind__in=_PRO_KINDS).update(
                read_by_patient_at=now
            )
        else:
            unread.filter(
                read_by_professional_at__isnull=True, author_kind=Message.AuthorKind.PATIENT
            ).update(read_by_professional_at=now)
        reading.trace(conversation)
    may_reply = bool(
        decide(actor, MessageAction.SEND, conversation.patient_id, conversation=conversation)
    )
    return ConversationPage(
        conversation=conversation,
        subject=subject_of(conversation),
        messages=shown,
        close_reason=close_reason_of(conversation),
        may_reply=may_reply,
        no_reply_reason="" if may_reply else _why_no_reply(actor, conversation),
        may_close=not patient_side
        and bool(
            decide(actor, MessageAction.CLOSE, conversation.patient_id, conversation=conversation)
        ),
        patient_side=patient_side,
        prescription_order=getattr(conversation, "prescription_order", None)
        if conversation.kind == Conversation.Kind.PRESCRIPTION
        else None,
    )


_PRO_KINDS = (Message.AuthorKind.PROFESSIONAL, Message.AuthorKind.ORGANIZATION)


@dataclass
class InboxItem:
    conversation: Conversation
    subject: str
    unread: int
    closed: bool
    patient: Person | None = None


def inbox(actor, patient: Person) -> list[InboxItem]:
    """The patient's conversations, newest activity first, with unread counts."""
    listing = _check(actor, MessageAction.LIST, patient.id)
    with transaction.atomic():
        conversations = (
            Conversation.objects.filter(patient_id=patient.id, patient_deleted_at__isnull=True)
            .select_related("sender_professional", "organization")
            .annotate(
                unread=Count(
                    "messages",
                    filter=Q(
                        messages__read_by_patient_at__isnull=True,
                        messages__author_kind__in=_PRO_KINDS,
                    ),
                )
            )
            .order_by("-last_message_at")
        )
        blocked = _blocked_senders(patient.id)
        items = [
            InboxItem(
                conversation,
                subject_of(conversation),
                conversation.unread,
                conversation.closed_at is not None
                or conversation.sender_professional_id in blocked,
            )
            for conversation in conversations
        ]
        listing.trace()
    return items


def _blocked_senders(patient_id) -> set:
    from espace_sante.access.consent_models import Block

    return set(
        Block.objects.filter(patient_id=patient_id, lifted_at__isnull=True).values_list(
            "professional_id", flat=True
        )
    )


def unread_for_patient(patient_id) -> int:
    """Conversations with unread messages (the navigation's counter: no health content)."""
    return (
        Message.objects.filter(
            patient_id=patient_id,
            conversation__patient_deleted_at__isnull=True,
            read_by_patient_at__isnull=True,
            author_kind__in=_PRO_KINDS,
        )
        .values("conversation_id")
        .distinct()
        .count()
    )


def unread_in(conversation: Conversation) -> int:
    """The patient's messages in one conversation the professionals' side has not read."""
    return Message.objects.filter(
        patient_id=conversation.patient_id,
        conversation=conversation,
        author_kind=Message.AuthorKind.PATIENT,
        read_by_professional_at__isnull=True,
    ).count()


def _professional_conversations(actor):
    mine = Q(sender_professional_id=actor.professional_id)
    if actor.organization_id:
        mine |= Q(organization_id=actor.organization_id, sender_professional__isnull=True)
    return Conversation.objects.filter(mine)


def unread_for_professional(actor) -> int:
    """Conversations with a patient's message the professional's side has not read."""
    if actor is None or actor.kind != ActorKind.PROFESSIONAL:
        return 0
    return (
        _professional_conversations(actor)
        .filter(
            messages__author_kind=Message.AuthorKind.PATIENT,
            messages__read_by_professional_at__isnull=True,
        )
        .distinct()
        .count()
    )


@dataclass
class PatientThreads:
    patient: Person
    items: list[InboxItem] = field(default_factory=list)

    @property
    def unread(self) -> int:
        return sum(item.unread for item in self.items)


def may_read_in_list(actor, conversation: Conversation, decided: dict) -> Decision:
    """The policy's answer for a list: asked once per patient and kind of sender.

    The list's query already keeps the professional's own conversations and
    his organisation's mailbox; what changes from one row to the next of the
    same patient and sender is nothing the policy looks at.
    """
    key = (
        conversation.patient_id,
        conversation.sender_professional_id,
        conversation.organization_id,
    )
    if key not in decided:
        decided[key] = decide(
            actor, MessageAction.READ, conversation.patient_id, conversation=conversation
        )
    return decided[key]


def conversations_with(actor, patient: Person) -> list[Conversation]:
    """The professional's own conversations (and his organisation's mailbox) with one patient.

    Oldest first, at most 100; those the policy refuses (the space closed) are
    left out. Nothing is decrypted here: ``read_conversation`` traces each read.
    """
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        raise NotAllowed
    conversations = (
        _professional_conversations(actor)
        .filter(patient_id=patient.id)
        .select_related("patient", "sender_professional", "organization", "closed_by")
        .order_by("created_at")[:100]
    )
    decided: dict = {}
    return [c for c in conversations if may_read_in_list(actor, c, decided)]


def professional_inbox(actor, *, kind: str = Conversation.Kind.CARE) -> list[PatientThreads]:
    """The professional's conversations grouped by patient, patients with unread first.

    Subjects are decrypted patient by patient, each list traced in that
    patient's audit trail.
    """
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or not actor.professional_id:
        raise NotAllowed
    conversations = (
        _professional_conversations(actor)
        .filter(kind=kind)
        .select_related("patient", "sender_professional", "organization")
        .annotate(
            unread=Count(
                "messages",
                filter=Q(
                    messages__read_by_professional_at__isnull=True,
                    messages__author_kind=Message.AuthorKind.PATIENT,
                ),
            ),
        )
        .order_by("-last_message_at")[:500]
    )
    groups: dict = {}
    decided: dict = {}
    with transaction.atomic(), crypto.key_scope():
        for conversation in conversations:
            decision = may_read_in_list(actor, conversation, decided)
            if not decision:
                continue  # the space closed: nothing of it is shown
            group = groups.get(conversation.patient_id)
            if group is None:
                group = groups[conversation.patient_id] = PatientThreads(conversation.patient)
                # Traced from the decision that let this patient's threads into the list.
                Access(
                    actor,
                    audit_events.get(MessageAction.LIST),
                    conversation.patient_id,
                    decision,
                    "conversation",
                ).trace()
            group.items.append(
                InboxItem(
                    conversation,
                    subject_of(conversation),
                    conversation.unread,
                    conversation.closed_at is not None,
                    conversation.patient,
                )
            )
    ordered = list(groups.values())  # subjects decrypted above, one key read per patient
    for group in ordered:
        group.items.sort(
            key=lambda item: (item.unread == 0, -item.conversation.last_message_at.timestamp())
        )
    ordered.sort(
        key=lambda g: (g.unread == 0, -g.items[0].conversation.last_message_at.timestamp())
    )
    return ordered


# --- Attachments out --------------------------------------------------------------------


def access_attachment(actor, attachment_id) -> tuple[Attachment, str]:
    """The attachment and its file name, if ``actor`` may download it; traced."""
    try:
        attachment = Attachment.objects.select_related("message__conversation").get(
            pk=attachment_id
        )
    except (Attachment.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotAllowed from None
    conversation = attachment.message.conversation
    downloading = _check(
        actor, MessageAction.DOWNLOAD, attachment.patient_id, conversation, obj=attachment
    )
    with transaction.atomic():
        downloading.trace(attachment)
    filename = crypto.decrypt_text(
        attachment.patient_id, attachment.id, bytes(attachment.filename_encrypted), purpose=FILENAME
    )
    return attachment, filename


def describe_attachment(actor, attachment_id) -> tuple[Attachment, str]:
    """The attachment and its name, for a page about it (a read of the conversation)."""
    try:
        attachment = Attachment.objects.select_related("message__conversation").get(
            pk=attachment_id
        )
    except (Attachment.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotAllowed from None
    conversation = attachment.message.conversation
    reading = _check(actor, MessageAction.READ, attachment.patient_id, conversation, obj=attachment)
    with transaction.atomic():
        reading.trace(attachment)
    filename = crypto.decrypt_text(
        attachment.patient_id, attachment.id, bytes(attachment.filename_encrypted), purpose=FILENAME
    )
    return attachment, filename


@contextmanager
def open_attachment(attachment: Attachment) -> Iterator:
    """A readable stream of the decrypted bytes of an attachment already accessed."""
    with record.blob_storage().open(attachment.blob_name, "rb") as blob:
        yield crypto.open_decrypting_stream(attachment.patient_id, attachment.id, blob)


def iter_attachment(attachment: Attachment, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    with open_attachment(attachment) as stream:
        while chunk := stream.read(chunk_size):
            yield chunk


def save_attachment_to_documents(actor, attachment_id, *, category: str, title: str = ""):
    """« Ajouter à mes documents »: the attachment becomes a document (source messaging).

    The patient chooses the type (a category of their own documents); the
    patient upload limits apply (size, types), with the record's own refusal.
    """
    if category not in PATIENT_CATEGORY_TYPES:
        raise MessagingRefused("Choisissez le type de document dans la liste.", code="category")
    attachment, filename = access_attachment(actor, attachment_id)
    if not _is_patient_side(actor):
        raise NotAllowed
    if attachment.size > settings.RECORD_PATIENT_MAX_BYTES:
        limit = settings.RECORD_PATIENT_MAX_BYTES / 1_000_000
        raise MessagingRefused(
            f"Cette pièce jointe dépasse la taille maximale d'un document ({limit:.0f} Mo) : "
            "elle ne peut pas être ajoutée à vos documents. Vous pouvez la télécharger.",
            code="too_large",
        )
    tmp_dir = settings.VAR_DIR / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    conversation = attachment.message.conversation
    author = conversation.sender_professional if not conversation.started_by_patient else None
    with tempfile.TemporaryFile(dir=tmp_dir) as plain:
        for chunk in iter_attachment(attachment):
            plain.write(chunk)
        plain.seek(0)
        try:
            return record.add_document(
                actor,
                conversation.patient,
                File(plain, name=filename),
                record.NewDocument(
                    title=title or os.path.splitext(filename)[0] or "Pièce jointe",
                    type_code=PATIENT_CATEGORY_TYPES[category],
                    source="messaging",
                    document_date=attachment.created_at,
                    author_professional=author,
                    author_organization=conversation.organization,
                ),
            )
        except UploadRefused as refusal:
            raise MessagingRefused(refusal.messages[0], code=refusal.code) from None


# --- Notifications ----------------------------------------------------------------------


def _enqueue_notification(message_id) -> None:
    from .tasks import send_message_notification

    try:
        send_message_notification.enqueue(str(message_id))
    except Exception:  # the message is committed; a lost queue must not fail the page
        logger.exception("Notification de message non mise en file : %s", message_id)


def _recipients(person: Person) -> tuple[list[str], str, str]:
    """Who is emailed about a person's messaging, « pour Léo » when it is a child's, and where
    to read it. A child without an account: the legal representatives, while a minor."""
    from espace_sante.identity.models import LegalRepresentative

    link = settings.SITE_URL.rstrip("/") + "/messagerie/"
    own = (person.user.email if person.user else "") or person.email
    if own:
        return [own], "", link
    if person.age_on(timezone.localdate()) >= 18:
        return [], "", link
    representatives = Person.objects.select_related("user").filter(
        represented_people__represented=person,
        represented_people__status=LegalRepresentative.Status.ACCEPTED,
    )
    addresses = [
        address
        for address in ((r.user.email if r.user else "") or r.email for r in representatives)
        if address
    ]
    return addresses, f" pour {person.first_first_name}", f"{link}?espace={person.id}"


def notification_for(message: Message) -> tuple[list[str], str, str]:
    """Recipients, subject, body of the email about a new message: no health content.

    Only who wrote (« Dr Claire Martin », « Pharmacie des Carmes ») — never the
    subject, the body or an attachment name. A child without an account of
    their own: the legal representatives are told, while the child is a minor.
    """
    from espace_sante.access import notifications

    person = Person.objects.select_related("user").get(pk=message.patient_id)
    if not notifications.is_enabled(person.id, notifications.Kind.NEW_MESSAGE):
        return [], "", ""
    addresses, whose, link = _recipients(person)
    if not addresses:
        return [], "", ""
    conversation = Conversation.objects.select_related("organization").get(
        pk=message.conversation_id
    )
    if message.author_kind == Message.AuthorKind.ORGANIZATION or conversation.started_by_patient:
        sender = conversation.organization.name if conversation.organization else "un professionnel"
    else:
        pro = Professional.objects.filter(pk=message.author_professional_id).first()
        sender = pro.display_name if pro else "un professionnel de santé"
    return (
        addresses,
        f"Nouveau message de {sender}{whose}",
        "Bonjour,\n\n"
        f"Vous avez reçu un nouveau message de {sender}{whose}.\n\n"
        f"Lisez-le dans votre messagerie sécurisée : {link}\n\n"
        "Pour ne plus recevoir ce courriel, allez dans Paramètres, puis Notifications.\n\n"
        "Ce message ne contient aucune information de santé.\n\nespace-santé\n",
    )


def deliver_notification(message_id) -> bool:
    """Send the email about one message once; safe to run twice or on two workers.

    One email per recipient: co-parents do not see each other's address.
    """
    from django.core.mail import EmailMessage

    from espace_sante.access.notifications import SUBJECT_PREFIX

    claimed = Message.objects.filter(pk=message_id, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return False
    message = Message.objects.get(pk=message_id)
    addresses, subject, body = notification_for(message)
    if not addresses:
        return False
    try:
        for address in addresses:
            EmailMessage(SUBJECT_PREFIX + subject, body, to=[address]).send()
    except Exception:
        Message.objects.filter(pk=message_id).update(notified_at=None)
        raise
    return True


# --- Retention --------------------------------------------------------------------------


def sweep_orphan_attachments(older_than_seconds: int = 3600) -> int:
    """Delete attachment blobs no row points at (a send interrupted between blob and row).

    Only blobs older than ``older_than_seconds``, so a send in progress is never
    touched. Safe to run twice or on two workers.
    """
    storage = record.blob_storage()
    limit = timezone.now().timestamp() - older_than_seconds
    removed = 0
    try:
        patient_dirs, _ = storage.listdir("patients")
    except FileNotFoundError:
        return 0
    for patient_dir in patient_dirs:
        folder = f"patients/{patient_dir}/messages"
        try:
            _, files = storage.listdir(folder)
        except FileNotFoundError:
            continue
        names = {f"{folder}/{name}" for name in files}
        known = set(
            Attachment.objects.filter(blob_name__in=names).values_list("blob_name", flat=True)
        )
        for name in names - known:
            if storage.get_modified_time(name).timestamp() < limit:
                storage.delete(name)
                removed += 1
    return removed


def _retention_limits(now: datetime) -> tuple[datetime, datetime]:
    """(inactive since before this: deleted, inactive since before this: warned)."""
    delete_before = now - timedelta(days=settings.MESSAGING_RETENTION_DAYS)
    warn_before = delete_before + timedelta(days=settings.MESSAGING_RETENTION_WARNING_DAYS)
    return delete_before, warn_before


def warn_before_retention(now: datetime | None = None) -> int:
    """Tell patients, once, that inactive conversations will soon be deleted (services.md).

    One email per patient (no health content: neither subjects nor senders),
    MESSAGING_RETENTION_WARNING_DAYS before the deletion. Conversations are
    claimed (``retention_warned_at``) before the email, so two workers do not
    both send it. Returns the number of patients told.
    """
    from django.core.mail import EmailMessage
    from django.template.defaultfilters import date as format_date

    from espace_sante.access.notifications import SUBJECT_PREFIX

    now = now or timezone.now()
    _, warn_before = _retention_limits(now)
    due = Conversation.objects.filter(
        last_message_at__lt=warn_before,
        retention_warned_at__isnull=True,
        patient_deleted_at__isnull=True,
    )
    told = 0
    for patient_id in set(due.values_list("patient_id", flat=True)[:1000]):
        claimed = due.filter(patient_id=patient_id).update(retention_warned_at=now)
        if not claimed:
            continue  # another worker took it
        person = Person.objects.select_related("user").get(pk=patient_id)
        addresses, whose, link = _recipients(person)
        when = format_date(
            timezone.localtime(now + timedelta(days=settings.MESSAGING_RETENTION_WARNING_DAYS)),
            "j F Y",
        )
        for address in addresses:
            EmailMessage(
                SUBJECT_PREFIX + "Des conversations de votre messagerie vont être supprimées",
                "Bonjour,\n\n"
                f"{claimed} conversation{'s' if claimed > 1 else ''} de votre messagerie"
                f"{whose}, sans activité depuis longtemps, "
                f"{'seront supprimées' if claimed > 1 else 'sera supprimée'} à partir du {when}."
                "\n\nSi vous voulez garder des pièces jointes, ajoutez-les à vos documents "
                f"avant cette date : {link}\n\n"
                "Ce message ne contient aucune information de santé.\n\nespace-santé\n",
                to=[address],
            ).send()
        told += 1
    return told


def apply_retention(now: datetime | None = None) -> int:
    """Delete conversations without activity for MESSAGING_RETENTION_DAYS, and their files.

    A conversation still in the patient's space is deleted only once she was
    warned at least MESSAGING_RETENTION_WARNING_DAYS before (``warn_before_retention``);
    one she deleted herself goes at once. Each deletion is traced as the
    system's in the patient's trail; blobs go after commit. Safe to run twice or
    on two workers (rows locked, a missing blob is a no-op).
    """
    now = now or timezone.now()
    limit, _ = _retention_limits(now)
    warned_before = now - timedelta(days=settings.MESSAGING_RETENTION_WARNING_DAYS)
    deletable = Q(last_message_at__lt=limit) & (
        Q(patient_deleted_at__isnull=False) | Q(retention_warned_at__lte=warned_before)
    )
    removed = 0
    expired = list(Conversation.objects.filter(deletable).values_list("id", flat=True)[:1000])
    for conversation_id in expired:
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update()
                .filter(deletable, pk=conversation_id)
                .first()
            )
            if conversation is None:
                continue
            blobs = list(
                Attachment.objects.filter(
                    patient_id=conversation.patient_id, message__conversation=conversation
                ).values_list("blob_name", flat=True)
            )
            guard(
                policy.SYSTEM,
                MessageAction.DELETE,
                conversation.patient_id,
                conversation=conversation,
                reason="durée de conservation écoulée",
            )
            conversation.delete()
            transaction.on_commit(partial(_delete_blobs, blobs))
            removed += 1
    return removed
