"""The opt-out lifecycle (lifecycle.md): the only code that changes a space's state.

Every change of ``Person.space_state`` goes through ``transition``, which
checks it against the state machine below and records it in
``SpaceTransition`` in the same transaction, with the person's row locked.
"""

import csv
import hashlib
import hmac
import io
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from espace_sante.access.policy import forget as forget_policy_memo
from espace_sante.identity import validators as identity_validators
from espace_sante.identity.models import Person, SpaceState, User

from . import validators
from .models import (
    Beneficiary,
    Campaign,
    Closure,
    CodeGuard,
    ImportReport,
    LetterBatch,
    ProvisionalCode,
    RefusedLine,
    SpaceTransition,
)

logger = logging.getLogger(__name__)

Event = SpaceTransition.Event
S = SpaceState

# The state machine: for each event, the states it may start from and where it leads.
# REOPENED and RESUMED lead back to where the person was (see _target).
MACHINE: dict[str, dict[str, str | None]] = {
    Event.ACTIVATED: {S.INVITED: S.ACTIVATED, S.CREATED: S.ACTIVATED},
    # Objection after automatic creation closes the space (lifecycle.md).
    Event.OBJECTED: {S.INVITED: S.OBJECTED, S.CREATED: S.CLOSED},
    Event.AUTO_CREATED: {S.INVITED: S.CREATED},
    Event.REQUESTED: {S.OBJECTED: S.CREATED},
    Event.CLOSED: {S.CREATED: S.CLOSED, S.ACTIVATED: S.CLOSED, S.SUSPENDED: S.CLOSED},
    Event.REOPENED: {S.CLOSED: None},
    Event.SUSPENDED: {S.CREATED: S.SUSPENDED, S.ACTIVATED: S.SUSPENDED},
    Event.RESUMED: {S.SUSPENDED: None},
}

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 12


class TransitionRefused(Exception):
    """This event cannot happen in the person's current state."""

    def __init__(self, event: str, state: str):
        self.event, self.state = event, state
        super().__init__(f"{event} impossible depuis l'état {state}")


# --- The state machine ---------------------------------------------------------


def _lock(person_id) -> Person:
    # The row lock serialises every change of one person's state: two workers,
    # or a worker and the person on the activation page, cannot both act.
    return Person.objects.select_for_update().get(pk=person_id)


def _target(person: Person, event: str) -> str:
    allowed = MACHINE.get(event, {})
    if person.space_state not in allowed:
        raise TransitionRefused(event, person.space_state)
    target = allowed[person.space_state]
    if target is not None:
        return target
    if event == Event.REOPENED:
        return S.ACTIVATED if person.user_id else S.CREATED
    # RESUMED: back to the state before the suspension.
    before = (
        SpaceTransition.objects.filter(patient=person, event=Event.SUSPENDED)
        .order_by("-at", "-id")
        .values_list("from_state", flat=True)
        .first()
    )
    return before or S.ACTIVATED


def can(person: Person, event: str) -> bool:
    return person.space_state in MACHINE.get(event, {})


def transition(person: Person, event: str, *, actor: User | None = None, note: str = "") -> str:
    """Move a locked person's space to the state ``event`` leads to, and record it.

    Call inside ``transaction.atomic`` with ``person`` from ``_lock``; raises
    ``TransitionRefused`` when the machine does not allow it.
    """
    target = _target(person, event)
    SpaceTransition.objects.create(
        patient=person,
        event=event,
        from_state=person.space_state,
        to_state=target,
        actor=actor,
        note=note[:200],
    )
    Person.objects.filter(pk=person.pk).update(space_state=target)
    person.space_state = target
    # An UPDATE sends no signal: the policy must not answer from the old state later
    # in the same request.
    forget_policy_memo()
    return target


def history(person: Person) -> list[SpaceTransition]:
    return list(SpaceTransition.objects.filter(patient=person).order_by("at", "id"))


# --- Campaigns -----------------------------------------------------------------


@transaction.atomic
def create_campaign(name: str, department: str, start_date, objection_days: int | None = None):
    """A campaign for one département; the objection delay defaults to the setting."""
    try:
        department = identity_validators.validate_department(department)
    except ValidationError as exc:
        raise ValidationError({"department": exc.messages}) from None
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Donnez un nom à la campagne."})
    if Campaign.objects.filter(name=name).exists():
        raise ValidationError({"name": "Une campagne porte déjà ce nom."})
    return Campaign.objects.create(
        name=name,
        department=department,
        start_date=start_date,
        objection_days=objection_days or settings.ENROLLMENT_OBJECTION_DAYS,
    )


def campaign_counts(campaign: Campaign) -> dict:
    """Counts per space state and per delivery, and the rates the console shows."""
    from django.db.models import Count

    states = dict(
        Beneficiary.objects.filter(campaign=campaign)
        .exclude(delivery=Beneficiary.Delivery.NOT_ELIGIBLE)
        .values_list("person__space_state")
        .annotate(n=Count("id"))
        .values_list("person__space_state", "n")
    )
    deliveries = dict(
        Beneficiary.objects.filter(campaign=campaign)
        .values_list("delivery")
        .annotate(n=Count("id"))
        .values_list("delivery", "n")
    )
    total = sum(states.values())
    # How each person's space came to be, from the transitions (not the current state).
    events = dict(
        SpaceTransition.objects.filter(
            patient__beneficiaries__campaign=campaign,
            event__in=[Event.ACTIVATED, Event.OBJECTED, Event.AUTO_CREATED],
        )
        .values_list("event")
        .annotate(n=Count("patient_id", distinct=True))
        .values_list("event", "n")
    )

    def rate(n):
        return round(100 * n / total, 1) if total else 0.0

    return {
        "total": total,
        "states": [(value, label, states.get(value, 0)) for value, label in S.choices],
        "deliveries": [
            (value, label, deliveries.get(value, 0))
            for value, label in Beneficiary.Delivery.choices
        ],
        "activation_rate": rate(events.get(Event.ACTIVATED, 0)),
        "objection_rate": rate(events.get(Event.OBJECTED, 0)),
        "auto_creation_rate": rate(events.get(Event.AUTO_CREATED, 0)),
    }


# --- Import of a beneficiary file ----------------------------------------------

IMPORT_CHUNK = 5000


def ordered_ids(count: int) -> list[str]:
    """``count`` new UUIDs (version 7: time in milliseconds, then 74 random bits).

    Random (version 4) keys land anywhere in the primary-key and foreign-key
    indexes: once those outgrow the database's memory, every insert reads a
    page from disk, and a million-line import slowed down as it went. Keys that
    start with the time are appended at the end of each index instead.
    """
    prefix = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76
    ids = []
    for _ in range(count):
        rand = secrets.randbits(74)
        value = prefix | (rand >> 62) << 64 | 0b10 << 62 | (rand & (1 << 62) - 1)
        ids.append(f"{value:032x}")  # the 32-digit form PostgreSQL and Django both read
    return ids


# COPY's text format: backslash, tab and line ends are escaped, None is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        return value.translate(_COPY_ESCAPES)
    if type(value) is bool:
        return "t" if value else "f"
    return str(value)  # numbers, UUIDs, dates and aware datetimes (ISO with offset)


def _insert(model, rows: list[dict]) -> None:
    """Bulk insert of rows given as {attname: value}: COPY on PostgreSQL, bulk_create elsewhere.

    Plain dicts rather than model instances: building a million instances costs
    more than the database work. Fields missing from the rows take their
    model default (same value for the whole chunk), so a column added later
    with a default does not break the import. On PostgreSQL the rows are
    written as COPY text in one piece: psycopg's per-row ``write_row`` cost
    more than the database's own work.
    """
    if not rows:
        return
    fields = model._meta.concrete_fields
    given = list(rows[0].keys())
    defaults = {
        f.attname: f.get_default()
        for f in fields
        if f.attname not in given
        and not (f.primary_key and f.get_internal_type().endswith("AutoField"))
    }
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**defaults, **row) for row in rows], batch_size=500)
        return
    names = [*given, *defaults]
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    table = connection.ops.quote_name(model._meta.db_table)
    tail = "".join("\t" + _copy_text(v) for v in defaults.values()) + "\n"
    separators = len(given) - 1
    lines = []
    for row in rows:
        values = [row[name] for name in given]
        line = "\t".join(map(str, values))
        # Most lines need no escaping: checked on the joined line at C speed. A
        # value with a tab, backslash or line end, or None, goes value by value.
        if (
            line.count("\t") != separators
            or "\\" in line
            or "\n" in line
            or "\r" in line
            or "None" in line
        ):
            line = "\t".join(map(_copy_text, values))
        lines.append(line + tail)
    text = "".join(lines)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
            copy.write(text)


def _existing_people(nirs: list[str]) -> dict[str, str]:
    """{matricule: person id} of those already known (any campaign)."""
    if connection.vendor == "postgresql":
        # One array parameter: Django's IN (%s, %s, …) of 5,000 values costs
        # more to build than the index look-ups themselves.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ins_matricule, id FROM identity_person WHERE ins_matricule = ANY(%s)",
                [nirs],
            )
            return dict(cursor.fetchall())
    return dict(Person.objects.filter(ins_matricule__in=nirs).values_list("ins_matricule", "id"))


def _open_csv(stream: Iterable[str]) -> csv.DictReader:
    lines = iter(stream)
    header = next(lines, "")
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    names = [name.strip().lower() for name in next(csv.reader([header], delimiter=delimiter))]

    def rest():
        yield from lines

    return csv.DictReader(rest(), fieldnames=names, delimiter=delimiter)


def import_beneficiaries(
    campaign: Campaign,
    stream: Iterable[str],
    *,
    file_name: str = "",
    progress: Callable[[ImportReport], None] | None = None,
    chunk_size: int = IMPORT_CHUNK,
) -> ImportReport:
    """Read a beneficiary file line by line, import the valid ones, report the others.

    Streams: only ``chunk_size`` lines are held at once, so memory stays flat
    for any file size. Each chunk is committed on its own; a refused line
    never stops the others. Idempotent: a person already in the campaign (same
    INS) is counted as already present, never inserted twice; a person who
    already has a space (or objected) is recorded as not eligible.
    """
    report = ImportReport.objects.create(campaign=campaign, file_name=file_name[:200])
    header_checked = False
    reader = _open_csv(stream)
    pending: list[tuple[int, validators.Line]] = []
    refused: list[RefusedLine] = []
    today = timezone.localdate()
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        if not header_checked:
            missing = [c for c in validators.REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                RefusedLine.objects.create(
                    report=report,
                    line=1,
                    field="",
                    message="Colonnes manquantes dans l'en-tête : " + ", ".join(missing),
                )
                report.refused = 1
                report.finished_at = timezone.now()
                report.save()
                return report
            header_checked = True
        report.lines += 1
        line, errors = validators.read_line(row, campaign.department, today)
        if errors:
            report.refused += 1
            refused.extend(
                RefusedLine(report=report, line=number, field=f, message=m[:300]) for f, m in errors
            )
        else:
            pending.append((number, line))
        if len(pending) >= chunk_size or len(refused) >= chunk_size:
            _import_chunk(campaign, report, pending, refused)
            pending, refused = [], []
            if progress:
                progress(report)
    _import_chunk(campaign, report, pending, refused)
    report.finished_at = timezone.now()
    report.save()
    if progress:
        progress(report)
    return report


@transaction.atomic
def _import_chunk(campaign, report, pending, refused) -> None:
    # The campaign row lock keeps two imports of one campaign from inserting
    # the same person at once (they would both see "not there yet").
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    by_nir: dict[str, tuple[int, validators.Line]] = {}
    for number, line in pending:
        nir = line.person["ins_matricule"]
        if nir in by_nir:
            report.refused += 1
            refused.append(
                RefusedLine(
                    report=report,
                    line=number,
                    field="nir",
                    message=f"Cette personne figure déjà ligne {by_nir[nir][0]} du fichier.",
                )
            )
            continue
        by_nir[nir] = (number, line)
    campaign_id = str(campaign.pk)  # as text once, like ``now`` below
    existing = _existing_people(list(by_nir))
    present = set(
        Beneficiary.objects.filter(
            campaign=campaign, person_id__in=list(existing.values())
        ).values_list("person_id", flat=True)
    )
    # Written in every row: as text once, not converted again for each row by COPY
    # (Django reads the same ISO text back on other databases).
    now = timezone.now().isoformat()
    people, beneficiaries, transitions = [], [], []
    new_ids = iter(ordered_ids(2 * (len(by_nir) - len(existing))))
    for nir, (number, line) in by_nir.items():
        channel = Beneficiary.Channel.EMAIL if line.person["email"] else Beneficiary.Channel.LETTER
        if nir in existing:
            if existing[nir] in present:
                report.already_present += 1
                continue
            # Someone who already has a space, objected or was invited elsewhere:
            # kept for the counts, never invited again.
            report.not_eligible += 1
            beneficiaries.append(
                _beneficiary_row(
                    campaign_id,
                    existing[nir],
                    line,
                    channel,
                    number,
                    now,
                    Beneficiary.Delivery.NOT_ELIGIBLE,
                    uuid.uuid4(),
                )
            )
            continue
        person_id = next(new_ids)
        people.append(
            {
                "id": person_id,
                "identity_status": "recuperee",
                "space_state": S.INVITED,
                "created_at": now,
                **line.person,
            }
        )
        beneficiaries.append(
            _beneficiary_row(
                campaign_id,
                person_id,
                line,
                channel,
                number,
                now,
                Beneficiary.Delivery.PENDING,
                next(new_ids),
            )
        )
        transitions.append(
            {
                "patient_id": person_id,
                "event": Event.IMPORTED,
                "from_state": "",
                "to_state": S.INVITED,
                "note": f"{campaign.name}, ligne {number}"[:200],
                "at": now,
            }
        )
        report.imported += 1
    _insert(Person, people)
    _insert(Beneficiary, beneficiaries)
    _insert(SpaceTransition, transitions)
    _insert(
        RefusedLine,
        [
            {"report_id": r.report_id, "line": r.line, "field": r.field, "message": r.message}
            for r in refused
        ],
    )
    report.save()


def _beneficiary_row(campaign_id, person_id, line, channel, number, now, delivery, id_) -> dict:
    return {
        "id": id_,
        "campaign_id": campaign_id,
        "person_id": person_id,
        "card_serial": line.card_serial,
        "channel": channel,
        "delivery": delivery,
        "line": number,
        "created_at": now,
    }


def refused_lines_csv(report: ImportReport) -> Iterable[str]:
    """The report of refused lines as CSV text, streamed (line, column, message)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["ligne", "colonne", "erreur"])
    yield buffer.getvalue()
    for line, field, message in report.errors.values_list("line", "field", "message").iterator(
        chunk_size=2000
    ):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([line, field, message])
        yield buffer.getvalue()


# --- Provisional codes ---------------------------------------------------------


def _digest(person_id, code: str) -> str:
    # HMAC bound to the person: a stolen table gives no code, and a digest
    # cannot be moved to someone else's row.
    message = f"provisional-code:{person_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def normalize_code(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def issue_code(person: Person, days: int, *, now=None) -> str:
    """A new provisional code for ``person``: earlier ones stop working. Returns it once."""
    now = now or timezone.now()
    ProvisionalCode.objects.filter(
        person=person, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    ProvisionalCode.objects.create(
        person=person,
        digest=_digest(person.pk, code),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    return code


class CodeRefused(Exception):
    """The code, NIR and card serial do not open anything; ``reason`` says why."""

    MISMATCH = "mismatch"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass
class CodeCheck:
    person: Person
    code_id: int
    beneficiary: Beneficiary


def _find(nir: str, card_serial: str) -> tuple[Person, Beneficiary] | None:
    try:
        nir = identity_validators.validate_nir(nir)
        card_serial = validators.validate_card_serial(card_serial)
    except ValidationError:
        return None
    beneficiary = (
        Beneficiary.objects.filter(person__ins_matricule=nir, card_serial=card_serial)
        .select_related("person", "campaign")
        .order_by("-created_at")
        .first()
    )
    if beneficiary is None:
        return None
    return beneficiary.person, beneficiary


def check_code(nir: str, card_serial: str, code: str, *, now=None) -> CodeCheck:
    """Check a provisional code against the NIR and card serial; raises CodeRefused.

    A wrong code counts against the person; after ENROLLMENT_CODE_MAX_FAILURES
    the form is locked for ENROLLMENT_CODE_LOCK_MINUTES, even with the right
    code. Does not use the code up (``activate`` and ``object`` do).
    """
    now = now or timezone.now()
    found = _find(nir, card_serial)
    if found is None:
        raise CodeRefused(CodeRefused.MISMATCH)
    person, beneficiary = found
    digest = _digest(person.pk, normalize_code(code))
    with transaction.atomic():
        CodeGuard.objects.get_or_create(person=person)
        guard = CodeGuard.objects.select_for_update().get(person=person)
        if guard.locked_until and guard.locked_until > now:
            reason = CodeRefused.LOCKED
        else:
            match = next(
                (
                    c
                    for c in ProvisionalCode.objects.filter(person=person, revoked_at__isnull=True)
                    if hmac.compare_digest(c.digest, digest)
                ),
                None,
            )
            if match is None:
                guard.failures += 1
                reason = CodeRefused.MISMATCH
                if guard.failures >= settings.ENROLLMENT_CODE_MAX_FAILURES:
                    guard.failures = 0
                    guard.locked_until = now + timedelta(
                        minutes=settings.ENROLLMENT_CODE_LOCK_MINUTES
                    )
                    reason = CodeRefused.LOCKED
                guard.save()
            elif match.used_at is not None:
                reason = CodeRefused.USED
            elif match.expires_at <= now:
                reason = CodeRefused.EXPIRED
            else:
                guard.failures = 0
                guard.locked_until = None
                guard.save()
                return CodeCheck(person=person, code_id=match.pk, beneficiary=beneficiary)
    raise CodeRefused(reason)


def _use_code(person: Person, code_id: int, now) -> None:
    """Mark the code used; refuses a code used, revoked or expired meanwhile."""
    updated = ProvisionalCode.objects.filter(
        pk=code_id,
        person=person,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if not updated:
        raise CodeRefused(CodeRefused.USED)


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
    from espace_sante.identity.services import open_account

    now = timezone.now()
    person = _lock(check.person.pk)
    if person.space_state == S.ACTIVATED:
        raise TransitionRefused(Event.ACTIVATED, person.space_state)
    if person.space_state not in (S.INVITED, S.CREATED, S.OBJECTED, S.CLOSED):
        raise TransitionRefused(Event.ACTIVATED, person.space_state)
    _use_code(person, check.code_id, now)
    email = User.objects.normalize_email(email).lower()
    taken = User.objects.filter(email__iexact=email)
    if person.user_id:
        taken = taken.exclude(pk=person.user_id)
    if taken.exists():
        raise EmailTaken
    if mobile_phone:
        mobile_phone = identity_validators.normalize_mobile(mobile_phone)
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
    Person.objects.filter(pk=person.pk).update(
        user=user, email=email, mobile_phone=mobile_phone or person.mobile_phone
    )
    person.user = user
    if person.space_state == S.OBJECTED:
        transition(person, Event.REQUESTED, actor=user, note="demande après opposition")
    if person.space_state == S.CLOSED:
        _reopen(person, user)
        return person
    _ensure_space_keys(person)
    transition(person, Event.ACTIVATED, actor=user)
    return person


@transaction.atomic
def object_to_creation(check: CodeCheck) -> SpaceTransition:
    """The person objects: no space is created (or the automatic one is closed).

    Refused once the space is activated: the person closes it from Paramètres.
    """
    now = timezone.now()
    person = _lock(check.person.pk)
    if not can(person, Event.OBJECTED):
        raise TransitionRefused(Event.OBJECTED, person.space_state)
    _use_code(person, check.code_id, now)
    was = person.space_state
    transition(person, Event.OBJECTED, note="opposition en ligne")
    if was == S.CREATED:
        _archive(person, now)
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
    found = _find(nir, card_serial)
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
    person = _lock(person.pk)
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


# --- Automatic creation --------------------------------------------------------


def _ensure_space_keys(person: Person) -> None:
    from espace_sante.crypto.services import ensure_keys

    ensure_keys(person.pk)


def create_due_spaces(
    *, batch_size: int = 500, now=None, after_each: Callable[[Person], None] | None = None
) -> int:
    """Create the spaces whose objection delay has passed; returns how many.

    Batches of ``batch_size`` people, each batch one transaction with the
    people's rows locked (SKIP LOCKED: a second worker takes the next
    people). The state is the checkpoint: after a crash the batch rolled
    back entirely, and the next run picks the same people again; a person
    already created is no longer "invited", so never created twice.
    ``after_each`` is called after each creation (progress display).
    """
    created = 0
    # People whose creation failed in this run: the next run retries them; this
    # one must not pick them again (it would loop, telling them each time).
    failed: list = []
    while True:
        at = now or timezone.now()
        with transaction.atomic():
            people = list(
                Person.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    space_state=S.INVITED,
                    beneficiaries__auto_create_after__lte=at,
                )
                .exclude(pk__in=failed)
                .distinct()
                .order_by("pk")[:batch_size]
                if connection.vendor != "postgresql"
                else Person.objects.select_for_update(skip_locked=True)
                .filter(
                    space_state=S.INVITED,
                    pk__in=Beneficiary.objects.filter(auto_create_after__lte=at).values(
                        "person_id"
                    ),
                )
                .exclude(pk__in=failed)
                .order_by("pk")[:batch_size]
            )
            if not people:
                break
            for person in people:
                try:
                    with transaction.atomic():
                        _ensure_space_keys(person)
                        transition(person, Event.AUTO_CREATED, note="délai d'opposition écoulé")
                except Exception:
                    # lifecycle.md: when creation fails technically the person is told
                    # at once; they stay "invited" and the next run tries again.
                    logger.exception("automatic creation failed")
                    failed.append(person.pk)
                    _tell(person, "creation_failed")
                    continue
                _tell(person, "created")
                created += 1
                if after_each:
                    after_each(person)
    return created


def _tell(person: Person, what: str) -> None:
    """Enqueue a notice to the person (in the caller's transaction: rolled back with it)."""
    from .tasks import send_notice

    if person.email or (person.mobile_phone and what in NOTICE_SMS):
        send_notice.enqueue(str(person.pk), what)
    else:
        logger.debug("no email or mobile for a %s notice", what)


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


# --- Closing, deletion, reopening -----------------------------------------------


def _archive(person: Person, now) -> Closure:
    closure, _ = Closure.objects.update_or_create(
        patient=person,
        defaults={
            "closed_at": now,
            "purge_after": now + timedelta(days=365 * settings.ENROLLMENT_ARCHIVE_YEARS + 3),
            "deletion_requested_at": None,
            "purged_at": None,
        },
    )
    return closure


@transaction.atomic
def close_space(
    person: Person, *, actor: User | None = None, delete_now: bool = False, note: str = ""
) -> Closure:
    """Close a space: data archived (encrypted) 10 years, or deleted within 3 months.

    The account can no longer sign in; reopening (``activate`` with a new
    provisional code) brings everything back while the data are archived.
    """
    now = timezone.now()
    person = _lock(person.pk)
    transition(
        person,
        Event.CLOSED,
        actor=actor,
        note=note or ("suppression demandée" if delete_now else ""),
    )
    closure = _archive(person, now)
    if delete_now:
        closure.deletion_requested_at = now
        closure.purge_after = now
        closure.save()
    if person.user_id:
        User.objects.filter(pk=person.user_id).update(is_active=False)
    _tell(person, "closed")
    from .tasks import purge_closed_spaces

    # Now for a requested deletion; at the end of the archive period otherwise
    # (`enroll purge` from cron does the same, should the queue be lost).
    if delete_now:
        purge_closed_spaces.enqueue()
    else:
        purge_closed_spaces.using(run_after=closure.purge_after).enqueue()
    return closure


@transaction.atomic
def suspend_space(person: Person, *, actor: User, reason: str) -> None:
    """Operator: suspend access on serious fraud or malfunction; the person is told."""
    person = _lock(person.pk)
    transition(person, Event.SUSPENDED, actor=actor, note=reason)
    if person.user_id:
        User.objects.filter(pk=person.user_id).update(is_active=False)
    _tell(person, "suspended")


@transaction.atomic
def resume_space(person: Person, *, actor: User, reason: str) -> None:
    """Operator: end a suspension; the space returns to its previous state."""
    person = _lock(person.pk)
    transition(person, Event.RESUMED, actor=actor, note=reason)
    if person.user_id:
        User.objects.filter(pk=person.user_id).update(is_active=True)


def find_person(nir: str) -> Person | None:
    """Operator look-up by NIR (administrative identity only, never health data)."""
    try:
        nir = identity_validators.validate_nir(nir)
    except ValidationError:
        return None
    return Person.objects.filter(ins_matricule=nir).first()


def send_closing_code(person: Person) -> str:
    """Email a 6-digit confirmation code for closing; returns its digest (kept by the caller)."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    body = render_to_string("enrollment/email/close_code.txt", {"person": person, "code": code})
    email = person.user.email if person.user_id else person.email
    EmailMessage("espace-santé — code de confirmation de fermeture", body, to=[email]).send()
    return _digest(person.pk, "close:" + code)


def closing_code_matches(person: Person, digest: str, typed: str) -> bool:
    typed = "".join(ch for ch in typed or "" if ch.isdigit())
    return hmac.compare_digest(digest, _digest(person.pk, "close:" + typed))


def _reopen(person: Person, user: User) -> None:
    closure = Closure.objects.filter(patient=person).first()
    if closure and closure.purged_at:
        # The data are gone with their keys: the space starts empty, with new keys.
        from espace_sante.crypto.services import renew_after_shred

        renew_after_shred(person.pk)
        note = "données supprimées auparavant"
    else:
        note = "données archivées restaurées"
    Closure.objects.filter(patient=person).delete()
    transition(person, Event.REOPENED, actor=user, note=note)


def purge_closed_spaces(*, batch_size: int = 100, now=None) -> int:
    """Delete the data of the closed spaces whose archive period (or deletion delay) is over.

    Crypto-shreds the person's keys first (nothing of theirs decrypts any
    more, whatever copies remain), then removes the blobs and the rows of
    their health data. The Person and the lifecycle history stay, without
    contact details. Idempotent; SKIP LOCKED for several workers.
    """
    purged = 0
    while True:
        at = now or timezone.now()
        with transaction.atomic():
            closures = list(
                Closure.objects.select_for_update(skip_locked=True)
                .filter(purge_after__lte=at, purged_at__isnull=True)
                .select_related("patient")[:batch_size]
            )
            if not closures:
                break
            for closure in closures:
                person = _lock(closure.patient_id)
                if person.space_state != S.CLOSED:
                    continue
                email = person.email
                _purge(person)
                closure.purged_at = at
                closure.save(update_fields=["purged_at"])
                SpaceTransition.objects.create(
                    patient=person,
                    event=Event.DELETED,
                    from_state=S.CLOSED,
                    to_state=S.CLOSED,
                    note="clés détruites, documents et données effacés",
                )
                if email:
                    try:
                        send_notice(person, "deleted", email)
                    except Exception:  # noqa: BLE001 (the deletion stands)
                        logger.exception("deletion notice could not be sent")
                purged += 1
    return purged


def _purge(person: Person) -> None:
    from espace_sante.crypto.services import shred

    shred(person.pk)
    from .purge import purge_patient_data

    purge_patient_data(person)
