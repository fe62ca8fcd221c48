import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .codes import format_code, issue_code
from .models import (
    Beneficiary,
    Campaign,
    LetterBatch,
)

logger = logging.getLogger(__name__)

# --- Invitations ---------------------------------------------------------------


def _informed(beneficiary: Beneficiary, now) -> dict:
    return {
        "informed_at": now,
        "auto_create_after": now + timedelta(days=beneficiary.campaign.objection_days),
    }


def campaign_has_started(campaign: Campaign) -> bool:
    return campaign.start_date <= timezone.localdate()


def _pending_locked(campaign: Campaign, channel: str):
    """The campaign's invitations still to send by ``channel``, locked for this batch.

    SKIP LOCKED: a second worker takes the next rows instead of waiting, so two
    workers never send the same invitation.
    """
    return (
        Beneficiary.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(campaign=campaign, channel=channel, delivery=Beneficiary.Delivery.PENDING)
        .select_related("person", "campaign")
    )


def send_invitation_emails(campaign: Campaign, *, batch_size: int = 200, now=None) -> dict:
    """Email every pending beneficiary who has an address; returns what happened.

    Safe on two workers: each batch locks its rows with SKIP LOCKED. A failed
    email is retried later (the delay doubles each time); after
    ENROLLMENT_EMAIL_MAX_ATTEMPTS it falls back to a postal letter.
    """
    done = {"sent": 0, "retry": 0, "letter": 0}
    if not campaign_has_started(campaign):
        return done
    while True:
        now = now or timezone.now()
        with transaction.atomic():
            rows = list(
                _pending_locked(campaign, Beneficiary.Channel.EMAIL)
                .exclude(next_attempt_at__gt=now)
                .order_by("created_at", "id")[:batch_size]
            )
            if not rows:
                break
            # One SMTP connection per batch; when it cannot open, each message
            # tries again on its own and is counted as a failed attempt.
            mail = get_connection(fail_silently=False)
            try:
                mail.open()
            except Exception:  # noqa: BLE001
                logger.warning("SMTP server unreachable for invitations")
            try:
                for beneficiary in rows:
                    _email_one(beneficiary, mail, now, done)
            finally:
                mail.close()
        now = None
    return done


def _email_one(beneficiary: Beneficiary, mail, now, done: dict) -> None:
    person = beneficiary.person
    with transaction.atomic():
        code = issue_code(person, beneficiary.campaign.objection_days, now=now)
        body = render_to_string(
            "enrollment/email/invitation.txt",
            {
                "person": person,
                "code": format_code(code),
                "campaign": beneficiary.campaign,
                "deadline": now + timedelta(days=beneficiary.campaign.objection_days),
                "site_url": settings.SITE_URL,
            },
        )
        message = EmailMessage(
            "Votre espace santé : informations et code provisoire",
            body,
            to=[person.email],
            connection=mail,
        )
        try:
            message.send()
        except Exception as exc:  # noqa: BLE001 (any SMTP or network failure)
            transaction.set_rollback(True)  # the code was never sent: forget it
            failure = str(exc)[:200] or type(exc).__name__
        else:
            failure = ""
            Beneficiary.objects.filter(pk=beneficiary.pk).update(
                delivery=Beneficiary.Delivery.EMAIL_SENT,
                email_attempts=beneficiary.email_attempts + 1,
                last_error="",
                **_informed(beneficiary, now),
            )
            done["sent"] += 1
    if not failure:
        return
    attempts = beneficiary.email_attempts + 1
    logger.warning("invitation email failed (attempt %s): %s", attempts, failure)
    if attempts >= settings.ENROLLMENT_EMAIL_MAX_ATTEMPTS:
        Beneficiary.objects.filter(pk=beneficiary.pk).update(
            channel=Beneficiary.Channel.LETTER,
            email_attempts=attempts,
            next_attempt_at=None,
            last_error=failure,
        )
        done["letter"] += 1
    else:
        delay = settings.ENROLLMENT_EMAIL_RETRY_SECONDS * 2 ** (attempts - 1)
        Beneficiary.objects.filter(pk=beneficiary.pk).update(
            email_attempts=attempts,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=failure,
        )
        done["retry"] += 1


def next_email_retry(campaign: Campaign):
    return (
        Beneficiary.objects.filter(
            campaign=campaign,
            channel=Beneficiary.Channel.EMAIL,
            delivery=Beneficiary.Delivery.PENDING,
            next_attempt_at__isnull=False,
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def build_letter_batches(campaign: Campaign, *, per_pdf: int | None = None, now=None) -> list:
    """Print every pending letter of the campaign, ``per_pdf`` letters per PDF file.

    Each letter carries a fresh provisional code (only its digest is kept).
    The PDF is written before the transaction commits; a crash before the
    commit leaves an orphan file and the letters still pending, never a
    letter marked printed without its page.
    """
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    from .letters import render_letters

    per_pdf = per_pdf or settings.ENROLLMENT_LETTERS_PER_PDF
    batches = []
    if not campaign_has_started(campaign):
        return batches
    while True:
        now_batch = now or timezone.now()
        with transaction.atomic():
            rows = list(
                _pending_locked(campaign, Beneficiary.Channel.LETTER).order_by(
                    "person__postal_code", "created_at", "id"
                )[:per_pdf]
            )
            if not rows:
                break
            letters = []
            for beneficiary in rows:
                code = issue_code(beneficiary.person, campaign.objection_days, now=now_batch)
                letters.append((beneficiary, format_code(code)))
            batch = LetterBatch(campaign=campaign, count=len(rows), created_at=now_batch)
            pdf = render_letters(campaign, letters, now_batch)
            name = f"{campaign.pk}/{now_batch:%Y%m%d-%H%M%S}-{batch.pk}.pdf"
            batch.file_name = storages["letters"].save(name, ContentFile(pdf))
            batch.save()
            for beneficiary in rows:
                Beneficiary.objects.filter(pk=beneficiary.pk).update(
                    delivery=Beneficiary.Delivery.LETTER_PRINTED,
                    letter_batch=batch,
                    # A reprinted letter (new code asked) does not move the delay.
                    **(_informed(beneficiary, now_batch) if not beneficiary.informed_at else {}),
                )
            batches.append(batch)
    return batches


def open_letter_batch(batch: LetterBatch):
    from django.core.files.storage import storages

    LetterBatch.objects.filter(pk=batch.pk, downloaded_at__isnull=True).update(
        downloaded_at=timezone.now()
    )
    return storages["letters"].open(batch.file_name, "rb")
