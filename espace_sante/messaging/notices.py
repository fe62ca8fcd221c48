"""Telling the patient about a new message, by email, without health content."""

import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from espace_sante.access import emails
from espace_sante.identity.models import Person, Professional

from .models import Conversation, Message

logger = logging.getLogger(__name__)

# --- Notifications ----------------------------------------------------------------------


@task()
def send_message_notification(message_id: str) -> bool:
    """Email the patient about a new message (idempotent: sent once)."""
    return deliver_notification(message_id)


def enqueue_notification(message_id) -> None:
    try:
        send_message_notification.enqueue(str(message_id))
    except Exception:  # the message is committed; a lost queue must not fail the page
        logger.exception("Message notification not enqueued: %s", message_id)


def recipients(person: Person) -> tuple[list[str], str, str]:
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
    addresses, whose, link = recipients(person)
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
    """Send the email about one message once; safe to run twice or on two workers."""
    return emails.send_once(
        Message.objects.filter(pk=message_id),
        "notified_at",
        lambda: notification_for(Message.objects.get(pk=message_id)),
    )
