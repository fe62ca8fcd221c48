"""Prescriptions sent to a pharmacy: the patient sends, the pharmacy prepares (services.md).

The prescription travels as a messaging conversation (the one a patient may
start), encrypted with the patient's keys; ``PrescriptionOrder`` holds the
pharmacy and the status. Each status change is a message from the pharmacy,
so the patient is told by the messaging's email (no health content).
"""

import os
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from espace_sante.access import events, policy
from espace_sante.access.guard import Access, guard
from espace_sante.access.policy import ActorKind, MessageAction, NotAllowed
from espace_sante.identity.models import Organization, Person
from espace_sante.messaging import services as messaging
from espace_sante.messaging.extensions import Panel
from espace_sante.messaging.models import Conversation
from espace_sante.messaging.services import MessagingRefused
from espace_sante.record.documents import services as record

from .events import PRESCRIPTION_STATUS
from .models import PrescriptionOrder

Status = PrescriptionOrder.Status
ORDER = list(Status)  # declared in the order they happen
# What the patient reads when the pharmacy moves the prescription on.
STATUS_MESSAGES = {
    Status.PREPARING: "Votre ordonnance est en cours de préparation.",
    Status.READY: "Votre commande est prête : vous pouvez venir la retirer à la pharmacie, "
    "avec votre carte Vitale et l'ordonnance originale.",
    Status.DISPENSED: "Votre ordonnance a été délivrée. Merci de votre visite.",
}
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "text/plain": ".txt",
    "text/rtf": ".rtf",
}


def search_pharmacies(query: str, limit: int = 20) -> list[Organization]:
    """Pharmacies whose name, town or postal code contains ``query`` (directory data)."""
    words = (query or "").split()
    if not words:
        return []
    found = Organization.objects.filter(kind="pharmacy")
    for word in words[:5]:
        found = found.filter(
            Q(name__icontains=word) | Q(city__icontains=word) | Q(postal_code__startswith=word)
        )
    return list(found.order_by("name")[:limit])


def pharmacies_used(actor, patient: Person) -> list[Organization]:
    """Pharmacies the patient sent a prescription to in the past year, most recent first."""
    if policy.patient_side_mode(actor, patient.id) is None:
        raise NotAllowed
    since = timezone.now() - timedelta(days=365)
    ids = (
        PrescriptionOrder.objects.filter(patient_id=patient.id, created_at__gte=since)
        .order_by("-created_at")
        .values_list("pharmacy_id", flat=True)
    )
    seen: list = []
    for pharmacy_id in ids:
        if pharmacy_id not in seen:
            seen.append(pharmacy_id)
    pharmacies = {org.id: org for org in Organization.objects.filter(id__in=seen)}
    return [pharmacies[i] for i in seen if i in pharmacies]


def find_pharmacy(pharmacy_id) -> Organization | None:
    try:
        return Organization.objects.filter(pk=pharmacy_id, kind="pharmacy").first()
    except (ValueError, ValidationError):
        return None


def start_prescription_conversation(
    actor, patient: Person, pharmacy: Organization, *, subject: str, body: str, attachments
) -> Conversation:
    """The one conversation a patient starts: a prescription sent to a pharmacy."""
    if pharmacy.kind != "pharmacy":
        raise MessagingRefused(
            "Vous ne pouvez écrire en premier qu'à une pharmacie.", code="not_a_pharmacy"
        )
    starting = messaging.check_access(actor, MessageAction.START, patient.id, to_pharmacy=True)
    attachments = [a for a in attachments if a]
    if not attachments:
        raise MessagingRefused(
            "Joignez l'ordonnance : un document de votre espace ou une photo.",
            code="no_prescription",
        )
    return messaging.open_conversation(
        actor,
        patient,
        starting,
        subject=subject,
        body=body,
        attachments=attachments,
        kind=Conversation.Kind.PRESCRIPTION,
        organization=pharmacy,
        started_by_patient=True,
    )


@transaction.atomic
def send_prescription(
    actor,
    patient: Person,
    pharmacy: Organization,
    *,
    document_id=None,
    photo=None,
    note: str = "",
) -> PrescriptionOrder:
    """« Envoyer une ordonnance à une pharmacie », from a document of the space or a photo.

    The document is read through the record's policy (and traced); its bytes
    are copied, encrypted, into the message. The pharmacy finds it in its
    inbox with the status « reçue ».
    """
    if (document_id is None) == (photo is None):
        raise MessagingRefused(
            "Choisissez l'ordonnance : un document de votre espace, ou une photo.",
            code="no_prescription",
        )
    body = " ".join((note or "").split()) or "Bonjour, voici mon ordonnance."
    if document_id is not None:
        document = record.access_document(actor, document_id)
        title = record.document_title(document)
        extension = EXTENSIONS.get(document.mime_type, "")
        with record.content_copy(document, f"{title[:80]}{extension}") as copy:
            conversation = start_prescription_conversation(
                actor,
                patient,
                pharmacy,
                # « Ordonnance : Ordonnance » says nothing twice.
                subject=(
                    title if title.lower().startswith("ordonnance") else f"Ordonnance : {title}"
                )[:200],
                body=body,
                attachments=[copy],
            )
    else:
        name = os.path.basename(getattr(photo, "name", "") or "photo")
        conversation = start_prescription_conversation(
            actor,
            patient,
            pharmacy,
            subject="Ordonnance",
            body=body,
            attachments=[File(photo, name=name)],
        )
    return PrescriptionOrder.objects.create(
        patient=patient,
        conversation=conversation,
        pharmacy=pharmacy,
        status=Status.RECEIVED,
        status_changed_at=conversation.created_at,
    )


def _is_pharmacy_actor(actor, order: PrescriptionOrder) -> bool:
    return (
        actor is not None
        and actor.kind == ActorKind.PROFESSIONAL
        and str(actor.organization_id) == str(order.pharmacy_id)
    )


def access_order(actor, order_id) -> PrescriptionOrder:
    """The order if ``actor`` is a professional of its pharmacy (or the patient's side)."""
    try:
        order = PrescriptionOrder.objects.select_related("conversation", "patient").get(pk=order_id)
    except (PrescriptionOrder.DoesNotExist, ValueError, ValidationError):
        raise NotAllowed from None
    messaging.access_conversation(actor, order.conversation_id)
    return order


def set_status(actor, order: PrescriptionOrder, status: str) -> PrescriptionOrder:
    """The pharmacy moves the prescription on; the patient gets a message and an email.

    Statuses only move forward (reçue → en préparation → prête → délivrée).
    """
    status = Status(status)
    if not _is_pharmacy_actor(actor, order):
        raise NotAllowed
    if ORDER.index(status) <= ORDER.index(Status(order.status)):
        raise MessagingRefused(
            f"Cette ordonnance est déjà « {order.get_status_display().lower()} ».",
            code="status",
        )
    conversation = messaging.access_conversation(actor, order.conversation_id, MessageAction.SEND)
    updating = guard(
        actor, MessageAction.SEND, order.patient_id, conversation=conversation, trace=False
    )
    with transaction.atomic():
        locked = PrescriptionOrder.objects.select_for_update().get(pk=order.pk)
        if ORDER.index(status) <= ORDER.index(Status(locked.status)):
            raise MessagingRefused(
                f"Cette ordonnance est déjà « {locked.get_status_display().lower()} ».",
                code="status",
            )
        messaging.reply(actor, conversation, STATUS_MESSAGES[status])
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.status_changed_by_id = actor.professional_id
        locked.save(update_fields=["status", "status_changed_at", "status_changed_by"])
        updating.trace(
            locked, event=PRESCRIPTION_STATUS, object_type="prescription", reason=str(status)
        )
    return locked


def conversation_panel(conversation: Conversation, patient_side: bool) -> Panel | None:
    """The prescription's status on its conversation page (and the pharmacy's buttons).

    Called by messaging for a conversation already read through its guard.
    """
    order = PrescriptionOrder.objects.filter(
        patient_id=conversation.patient_id, conversation=conversation
    ).first()
    if order is None:
        return None
    template = (
        "pharmacy/_order_status.html"
        if patient_side
        else "pharmacy/professional/_order_status.html"
    )
    return Panel(template, {"order": order})


@dataclass
class OrderItem:
    order: PrescriptionOrder
    patient: Person
    unread: int


def pharmacy_inbox(actor, status: str = "") -> list[OrderItem]:
    """The prescriptions received by the pharmacy the professional acts for, newest first.

    Each patient listed is traced in their audit trail.
    """
    if actor is None or actor.kind != ActorKind.PROFESSIONAL or not actor.organization_id:
        raise NotAllowed
    orders = PrescriptionOrder.objects.filter(pharmacy_id=actor.organization_id).select_related(
        "patient", "conversation"
    )
    if status:
        orders = orders.filter(status=Status(status))
    items = []
    listed: set = set()
    decided: dict = {}
    with transaction.atomic():
        for order in orders.order_by("-created_at")[:200]:
            decision = messaging.may_read_in_list(actor, order.conversation, decided)
            if not decision:
                continue
            if order.patient_id not in listed:
                listed.add(order.patient_id)
                # Traced from the decision that let this patient's order into the list.
                Access(
                    actor,
                    events.get(MessageAction.LIST),
                    order.patient_id,
                    decision,
                    "prescription",
                ).trace()
            items.append(OrderItem(order, order.patient, messaging.unread_in(order.conversation)))
    return items
