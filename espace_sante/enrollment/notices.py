import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django_tasks import task

from espace_sante.identity.models import Person

logger = logging.getLogger(__name__)

NOTICE_SUBJECTS = {
    "created": "Votre espace santé a été créé",
    "creation_failed": "Votre espace santé n'a pas pu être créé",
    "closed": "Votre espace santé est fermé",
    "deleted": "Votre espace santé a été supprimé",
    "suspended": "L'accès à votre espace santé est suspendu",
}


# Without an email, the notices of lifecycle.md that must reach the person go
# by SMS to the mobile on file (no health content, like the emails).
NOTICE_SMS = {
    "created": (
        "espace-santé : votre espace santé a été créé. Activez-le sur {site_url}/activer/ "
        "ou opposez-vous à sa création sur {site_url}/opposition/."
    ),
    "creation_failed": (
        "espace-santé : la création automatique de votre espace santé n'a pas abouti "
        "(incident technique). Nous réessaierons, sans démarche de votre part."
    ),
}


def send_notice_sms(person: Person, what: str) -> None:
    """Text a notice to the person's mobile; raises when the gateway refuses it."""
    from espace_sante.identity.sms import get_sms_sender

    text = NOTICE_SMS[what].format(site_url=settings.SITE_URL)
    get_sms_sender().send(person.mobile_phone, text)


def send_notice(person: Person, what: str, email: str | None = None) -> None:
    """Email a notice without health content; raises when the email cannot be sent."""
    body = render_to_string(
        f"enrollment/email/{what}.txt", {"person": person, "site_url": settings.SITE_URL}
    )
    subject = f"espace-santé — {NOTICE_SUBJECTS[what]}"
    EmailMessage(subject, body, to=[email or person.email]).send()


@task()
def deliver_notice(person_id: str, what: str) -> bool:
    """Email one notice (created, creation failed, closed) to the person's address on file.

    Without an email, the notices that have an SMS text go to the mobile on file.
    """
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        return False
    if person.email:
        send_notice(person, what)
        return True
    if person.mobile_phone and what in NOTICE_SMS:
        send_notice_sms(person, what)
        return True
    return False


def tell(person: Person, what: str) -> None:
    """Enqueue a notice to the person (in the caller's transaction: rolled back with it)."""
    if person.email or (person.mobile_phone and what in NOTICE_SMS):
        deliver_notice.enqueue(str(person.pk), what)
    else:
        logger.debug("no email or mobile for a %s notice", what)
