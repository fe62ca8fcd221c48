"""The daily digest: one email (and one SMS) per person and per day, never at night.

``notifications.notify`` records what there is to tell (patient, kind, time);
the scheduled task ``send_notification_digests`` calls ``send_digests`` every
quarter of an hour. Per person with pending rows it sends one email listing
only the kinds ("un nouveau document", "un rendez-vous demain"…) with a link
to sign in: no title, no type, no name, nothing of health. Then:

- **one a day**: the ``NotificationDigest`` row is unique per person and day
  (Europe/Paris); rows created after today's digest wait for tomorrow's;
- **quiet hours** (``NOTIFICATION_QUIET_START`` → ``NOTIFICATION_QUIET_END``):
  nothing is sent; the rows wait for the first run after the end;
- **never twice**: the digest row is created, the pending rows claimed (marked
  sent) and the email sent in one transaction. A second worker skips the rows
  locked by the first (PostgreSQL, ``SKIP LOCKED``) or waits for its commit
  (SQLite: one writer at a time) and then finds them sent, or the day's digest
  already there. A mail server that refuses rolls everything back: the next
  run sends it (an email may rarely go twice, never zero times).
"""

import logging
import uuid
from datetime import datetime, time

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from espace_sante.identity.models import Person

from .emails import SUBJECT_PREFIX
from .models import NotificationDigest, NotificationPreference, PendingNotification

logger = logging.getLogger(__name__)

Kind = NotificationPreference.Kind
# What the digest says of each kind, in this order: never more than the kind.
LINES: dict[str, str] = {
    Kind.NEW_DOCUMENT: "un nouveau document",
    Kind.NEW_MESSAGE: "un nouveau message",
    Kind.PREVENTION: "un rappel de prévention",
    Kind.APPOINTMENT: "un rendez-vous demain",
}
YOURS = "votre espace santé"


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(moment: datetime) -> bool:
    """Whether ``moment`` (any time zone) falls in the quiet hours, in Europe/Paris."""
    start = _clock(settings.NOTIFICATION_QUIET_START)
    end = _clock(settings.NOTIFICATION_QUIET_END)
    local = timezone.localtime(moment).time()
    if start == end:  # no quiet hours
        return False
    if start < end:  # within one day, e.g. 12:00-14:00
        return start <= local < end
    return local >= start or local < end  # over midnight, e.g. 21:00-08:00


def send_digests(now: datetime | None = None) -> int:
    """Send the digests owed now; returns how many people were told."""
    now = now or timezone.now()
    if in_quiet_hours(now):
        return 0
    waiting = (
        PendingNotification.objects.filter(sent_at__isnull=True, created_at__lte=now)
        .values_list("patient_id", flat=True)
        .distinct()
    )
    told = 0
    for patient_id in list(waiting):
        try:
            if send_digest(patient_id, now):
                told += 1
        except Exception:  # one person's mail failure must not stop the others'
            logger.exception("Digest not sent for patient %s; retried at the next run", patient_id)
    return told


def send_digest(patient_id: uuid.UUID | str, now: datetime) -> bool:
    """The day's one digest for one person, if owed now; True when sent."""
    patient_id = uuid.UUID(str(patient_id))
    day = timezone.localdate(now)
    with transaction.atomic():
        if NotificationDigest.objects.filter(patient_id=patient_id, day=day).exists():
            return False  # today's is gone: the rest waits for tomorrow
        pending = list(
            PendingNotification.objects.select_for_update(skip_locked=True)
            .filter(patient_id=patient_id, sent_at__isnull=True, created_at__lte=now)
            .order_by("created_at")
        )
        if not pending:
            return False
        try:
            with transaction.atomic():
                digest = NotificationDigest.objects.create(
                    patient_id=patient_id, day=day, sent_at=now
                )
        except IntegrityError:  # another worker sent today's meanwhile
            return False
        claimed = PendingNotification.objects.filter(
            patient_id=patient_id, pk__in=[row.pk for row in pending], sent_at__isnull=True
        ).update(sent_at=now, digest=digest)
        if claimed != len(pending):  # another worker took some: let it tell them
            transaction.set_rollback(True)
            return False
        person = Person.objects.select_related("user").get(pk=patient_id)
        kinds = [str(kind) for kind in LINES if any(row.kind == kind for row in pending)]
        digest.by_email = _email(person, kinds)
        digest.by_sms = _sms(person)
        digest.save(update_fields=["by_email", "by_sms"])
    return digest.by_email or digest.by_sms


def body_for(kinds: list[str], where: str = YOURS) -> str:
    """The email's text: the kinds only, and where to sign in."""
    lines = "\n".join(f"- {LINES[kind]}" for kind in kinds)
    return (
        "Bonjour,\n\n"
        f"Vous avez du nouveau dans {where} :\n"
        f"{lines}\n\n"
        f"Connectez-vous pour le consulter : {sign_in_url()}\n\n"
        "Vous recevez au plus un courriel de ce type par jour. Pour choisir ce qui vous "
        "est signalé, allez dans Paramètres, puis Notifications.\n\n"
        "Ce message ne contient aucune information de santé.\n\nespace-santé\n"
    )


def sign_in_url() -> str:
    site: str = settings.SITE_URL
    return site.rstrip("/") + reverse("account_login")


def recipients(person: Person) -> tuple[list[str], str]:
    """Who receives a person's digest, and whose space it is ("l'espace santé de Léo" for a
    child's): the person's own address; for a minor without one, the legal representatives
    (as for messages)."""
    from espace_sante.identity.models import LegalRepresentative

    own = (person.user.email if person.user else "") or person.email
    if own:
        return [own], YOURS
    if person.age_on(timezone.localdate()) >= 18:
        return [], YOURS
    representatives = Person.objects.select_related("user").filter(
        represented_people__represented=person,
        represented_people__status=LegalRepresentative.Status.ACCEPTED,
    )
    addresses = [
        address
        for address in ((r.user.email if r.user else "") or r.email for r in representatives)
        if address
    ]
    return addresses, f"l'espace santé de {person.first_first_name}"


def _email(person: Person, kinds: list[str]) -> bool:
    addresses, where = recipients(person)
    # One email per address: co-parents do not see each other's.
    for address in addresses:
        subject = f"{SUBJECT_PREFIX}Vous avez du nouveau dans {where}"
        EmailMessage(subject, body_for(kinds, where), to=[address]).send()
    return bool(addresses)


def _sms(person: Person) -> bool:
    """One SMS too when the person signs in by SMS (the channel they chose for codes)."""
    from espace_sante.identity.models import User
    from espace_sante.identity.sms import get_sms_sender

    user = person.user
    if not (user and user.otp_channel == User.OtpChannel.SMS and person.mobile_phone):
        return False
    get_sms_sender().send(
        person.mobile_phone,
        f"espace-santé : vous avez du nouveau dans votre espace santé. "
        f"Connectez-vous : {sign_in_url()}",
    )
    return True
