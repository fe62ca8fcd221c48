import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from espace_sante.identity import validators as identity_validators
from espace_sante.identity.models import Person, User

from .closing import archive_space, reopen_space
from .codes import CodeCheck, find_beneficiary, format_code, issue_code, use_code
from .creation import ensure_space_keys
from .lifecycle import Event, S, TransitionRefused, can, lock_person, transition
from .models import (
    Beneficiary,
    ProvisionalCode,
    SpaceTransition,
)

logger = logging.getLogger(__name__)

# --- Activation, objection, new code --------------------------------------------


class EmailTaken(Exception):
    """Another account already signs in with this address."""


@transaction.atomic
def activate(
    check: CodeCheck,
    *,
    email: str,
    password: str,
    otp_channel: str = User.OtpChannel.EMAIL,
    mobile_phone: str = "",
) -> Person:
    """The person activates (or reopens, or asks again for) their space.

    Uses the code up, gives the person a sign-in account (email + password;
    one-time codes by email or SMS at every sign-in) and records each
    transition: objected → created → activated, closed → reopened.
    """
    now = timezone.now()
    person = lock_person(check.person.pk)
    if person.space_state == S.ACTIVATED:
        if _activated_with(person, check.code_id):
            # The same form sent again while the first one was activating: activated,
            # as asked (the first request's address and password hold).
            return person
        raise TransitionRefused(Event.ACTIVATED, person.space_state)
    if person.space_state not in (S.INVITED, S.CREATED, S.OBJECTED, S.CLOSED):
        raise TransitionRefused(Event.ACTIVATED, person.space_state)
    use_code(person, check.code_id, now)
    email = User.objects.normalize_email(email).lower()
    taken = User.objects.filter(email__iexact=email)
    if person.user_id:
        taken = taken.exclude(pk=person.user_id)
    if taken.exists():
        raise EmailTaken
    if mobile_phone:
        mobile_phone = identity_validators.normalize_mobile(mobile_phone)
    try:
        # Someone else activating with this address at the same moment took it first.
        with transaction.atomic():
            user = _account_for(person, email, password, otp_channel)
    except IntegrityError:
        raise EmailTaken from None
    Person.objects.filter(pk=person.pk).update(
        user=user, email=email, mobile_phone=mobile_phone or person.mobile_phone
    )
    person.user = user
    if person.space_state == S.OBJECTED:
        transition(person, Event.REQUESTED, actor=user, note="demande après opposition")
    if person.space_state == S.CLOSED:
        reopen_space(person, user)
        return person
    ensure_space_keys(person)
    transition(person, Event.ACTIVATED, actor=user)
    return person


def _activated_with(person: Person, code_id: int) -> bool:
    """Was the person's current activation made with this provisional code?"""
    latest = SpaceTransition.objects.filter(patient=person).order_by("-at", "-id").first()
    return (
        latest is not None
        and latest.event in (Event.ACTIVATED, Event.REOPENED)
        and ProvisionalCode.objects.filter(
            pk=code_id, person=person, used_at__isnull=False
        ).exists()
    )


def _account_for(person: Person, email: str, password: str, otp_channel: str) -> User:
    """The person's sign-in account with this address and password (opened, or set again)."""
    from espace_sante.identity.services import open_account

    if person.user_id:
        user = person.user
        user.email = email
        user.set_password(password)
        user.is_active = True
        user.otp_channel = otp_channel
        user.save()
        from allauth.account.models import EmailAddress

        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    else:
        user = open_account(person, email, password)
        user.otp_channel = otp_channel
        user.save(update_fields=["otp_channel"])
    return user


@transaction.atomic
def object_to_creation(check: CodeCheck) -> SpaceTransition:
    """The person objects: no space is created (or the automatic one is closed).

    Refused once the space is activated: the person closes it from Paramètres.
    """
    now = timezone.now()
    person = lock_person(check.person.pk)
    latest = SpaceTransition.objects.filter(patient=person).order_by("-at", "-id").first()
    if latest is not None and latest.event == Event.OBJECTED:
        # Objected already (a parallel or repeated request): the same objection, the
        # same receipt — never "already activated".
        return latest
    if not can(person, Event.OBJECTED):
        raise TransitionRefused(Event.OBJECTED, person.space_state)
    use_code(person, check.code_id, now)
    was = person.space_state
    transition(person, Event.OBJECTED, note="opposition en ligne")
    if was == S.CREATED:
        archive_space(person, now)
    return SpaceTransition.objects.filter(patient=person).latest("at", "id")


def objection_receipt_pdf(transition_id: int) -> bytes:
    """The PDF receipt of an objection (WeasyPrint): who, when, what it means."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    record = SpaceTransition.objects.select_related("patient").get(
        pk=transition_id, event=Event.OBJECTED
    )
    html = render_to_string(
        "enrollment/objection_receipt.html",
        {"transition": record, "person": record.patient, "site_url": settings.SITE_URL},
    )
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def request_new_code(nir: str, card_serial: str) -> None:
    """Send a new provisional code to the contact on file, if the person is known.

    Says nothing to the caller either way (the page answers the same), and never
    sends anywhere but the email, mobile phone or postal address on file.
    """
    found = find_beneficiary(nir, card_serial)
    if found is None:
        return
    person, beneficiary = found
    if person.space_state in (S.ACTIVATED, S.SUSPENDED):
        return
    try:
        _send_new_code(person, beneficiary)
    except Exception:  # noqa: BLE001 (same answer to the caller; the code was rolled back)
        logger.exception("a new provisional code could not be sent")


@transaction.atomic
def _send_new_code(person: Person, beneficiary: Beneficiary) -> None:
    person = lock_person(person.pk)
    days = beneficiary.campaign.objection_days
    if person.email:
        code = issue_code(person, days)
        _send_code_email(person, code)
    elif person.mobile_phone:
        from espace_sante.identity.sms import get_sms_sender

        code = issue_code(person, days)
        text = (
            f"espace-santé : votre nouveau code provisoire est {format_code(code)}. "
            f"Il est valable {days} jours. Ne le communiquez à personne."
        )
        get_sms_sender().send(person.mobile_phone, text)
    else:
        # A letter: the next batch of the campaign prints it with its own code.
        Beneficiary.objects.filter(pk=beneficiary.pk).update(
            channel=Beneficiary.Channel.LETTER, delivery=Beneficiary.Delivery.PENDING
        )


def _send_code_email(person: Person, code: str) -> None:
    body = render_to_string(
        "enrollment/email/new_code.txt",
        {"person": person, "code": format_code(code), "site_url": settings.SITE_URL},
    )
    EmailMessage("espace-santé — votre nouveau code provisoire", body, to=[person.email]).send()
