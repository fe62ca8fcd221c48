"""Reading: a conversation, the inboxes of both sides, unread counts."""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from espace_sante.access import events as audit_events
from espace_sante.access.guard import Access, decide
from espace_sante.access.policy import ActorKind, Decision, MessageAction, NotAllowed
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Organization, Person, Professional

from . import extensions
from .extensions import Panel
from .models import Attachment, Conversation, Message
from .rules import BODY, CLOSE_REASON, FILENAME, SUBJECT, check_access, is_patient_side
from .writing import why_no_reply

logger = logging.getLogger(__name__)

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
    panel: Panel | None = None  # added by the app this kind of conversation belongs to


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
    reading = check_access(actor, MessageAction.READ, conversation.patient_id, conversation)
    patient_side = is_patient_side(actor)
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
        no_reply_reason="" if may_reply else why_no_reply(actor, conversation),
        may_close=not patient_side
        and bool(
            decide(actor, MessageAction.CLOSE, conversation.patient_id, conversation=conversation)
        ),
        patient_side=patient_side,
        panel=extensions.panel_of(conversation, patient_side),
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
    listing = check_access(actor, MessageAction.LIST, patient.id)
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


def unread_for_professional(actor, *, kind: str = Conversation.Kind.CARE) -> int:
    """Conversations of one kind with a patient's message the professional's side has not read.

    By kind, like the lists: the Messagerie badge counts what the Messagerie
    shows, a pharmacy's prescriptions are counted beside their own list.
    """
    if actor is None or actor.kind != ActorKind.PROFESSIONAL:
        return 0
    return (
        _professional_conversations(actor)
        .filter(
            kind=kind,
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
