"""The Agenda pages: appointments, the month, prevention reminders, the calendar feed.

Thin: whose space (``space_shown``: one's own or ``?espace=`` of a child), who
acts (``citizen_actor``), one service, render. Every read and change goes
through ``agenda.services``; a refusal looks like a page that does not exist.
"""

import calendar
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from espace_sante.access.dates import MONTHS
from espace_sante.access.http import citizen_actor, space_shown
from espace_sante.access.policy import NotAllowed
from espace_sante.identity.models import Person
from espace_sante.identity.services import represented_people
from espace_sante.record.profile.services import ProfileInvalid

from . import services
from .forms import AppointmentForm, DayForm
from .models import Appointment, PreventionChoice
from .prevention import DONE, MANDATORY, TO_DO, TO_PLAN, Reminder
from .services import PARIS, AppointmentInvalid, NotRecordable

WEEKDAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")
# The secret shown once after a calendar link is created (popped by the next page).
NEW_FEED_KEY = "agenda_new_feed_url"
# A calendar app polls every few minutes at most; more than this is not an app.
FEED_MAX_PER_HOUR = 120


# --- Whose space ------------------------------------------------------------------


def _space(request: HttpRequest) -> tuple[Person, Any, dict[str, Any]]:
    """The space shown, the actor, and what every agenda page says about whose it is."""
    patient = space_shown(request)
    actor = citizen_actor(request)
    me: Person | None = getattr(request.user, "person", None)
    own = patient == me
    spaces = [me, *represented_people(me)] if me is not None else []
    return (
        patient,
        actor,
        {
            "patient": patient,
            "own_space": own,
            "space_query": "" if own else f"?espace={patient.id}",
            "spaces": [(one, one == patient, one == me) for one in spaces],
        },
    )


def _with_space(url: str, patient: Person, request: HttpRequest) -> str:
    own = patient == getattr(request.user, "person", None)
    return url if own else f"{url}?espace={patient.id}"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _paris_now() -> datetime:
    return timezone.now().astimezone(PARIS)


# --- Agenda -----------------------------------------------------------------------


def _appointment_rows(rows: list[Appointment], actor: Any) -> list[dict[str, Any]]:
    return [
        {
            "row": row,
            "starts": services.local_start(row),
            "added_by": services.added_by(row, actor),
            "editable": services.editable_by_person(row),
            "cancelled": row.status == Appointment.Status.CANCELLED,
        }
        for row in rows
    ]


@login_required
@never_cache
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    try:
        patient, actor, context = _space(request)
        now = timezone.now()
        upcoming = services.list_appointments(actor, patient, start=now - timedelta(hours=2))
        forecast = services.prevention_forecast(actor, patient)
        feed = services.active_feed(actor, patient)
    except NotAllowed:
        raise Http404 from None
    today = timezone.localdate()
    context.update(
        page_title="Agenda",
        appointments=_appointment_rows(upcoming, actor),
        to_do=sum(1 for one in forecast.reminders if one.status == TO_DO),
        to_plan=sum(1 for one in forecast.reminders if one.status == TO_PLAN),
        this_month=f"{today:%Y-%m}",
        feed=feed,
        new_feed_url=request.session.pop(NEW_FEED_KEY, None),
    )
    return _no_store(render(request, "agenda/index.html", context))


# --- The month --------------------------------------------------------------------


def _month(value: str) -> date:
    try:
        year, number = value.split("-")
        first = date(int(year), int(number), 1)
    except ValueError:
        raise Http404 from None
    if not 2000 <= first.year <= 2100:
        raise Http404
    return first


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _reminders_by_day(reminders: list[Reminder], today: date) -> dict[date, list[Reminder]]:
    """Due reminders on their day; one already due is shown today (where one can act on it)."""
    found: dict[date, list[Reminder]] = defaultdict(list)
    for one in reminders:
        if one.status != DONE:
            found[max(one.due, today)].append(one)
    return found


@login_required
@never_cache
@require_GET
def month(request: HttpRequest, month: str) -> HttpResponse:
    first = _month(month)
    after = _next_month(first)
    start = datetime.combine(first, datetime.min.time()).replace(tzinfo=PARIS)
    end = datetime.combine(after, datetime.min.time()).replace(tzinfo=PARIS)
    today = timezone.localdate()
    try:
        patient, actor, context = _space(request)
        rows = services.list_appointments(actor, patient, start=start, end=end)
        reminders = services.prevention_forecast(actor, patient, today).reminders
    except NotAllowed:
        raise Http404 from None
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for item in _appointment_rows(rows, actor):
        by_day[item["starts"].astimezone(PARIS).date()].append(item)
    due = _reminders_by_day(reminders, today)
    weeks = [
        [
            {
                "day": day,
                "in_month": day.month == first.month,
                "today": day == today,
                "appointments": by_day.get(day, []),
                "reminders": due.get(day, []),
            }
            for day in week
        ]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    ]
    previous = (first - timedelta(days=1)).replace(day=1)
    context.update(
        page_title=f"Agenda — {MONTHS[first.month - 1]} {first.year}",
        month_name=f"{MONTHS[first.month - 1].capitalize()} {first.year}",
        weekdays=WEEKDAYS,
        weeks=weeks,
        previous=f"{previous:%Y-%m}",
        previous_name=f"{MONTHS[previous.month - 1]} {previous.year}",
        next=f"{after:%Y-%m}",
        next_name=f"{MONTHS[after.month - 1]} {after.year}",
        count=len(rows),
    )
    return _no_store(render(request, "agenda/month.html", context))


# --- Appointments -----------------------------------------------------------------


def _appointment_form_page(
    request: HttpRequest,
    context: dict[str, Any],
    form: AppointmentForm,
    appointment: Appointment | None,
) -> HttpResponse:
    context.update(
        page_title="Modifier le rendez-vous" if appointment else "Ajouter un rendez-vous",
        form=form,
        appointment=appointment,
    )
    return _no_store(render(request, "agenda/appointment_form.html", context))


@login_required
@never_cache
def appointment_add(request: HttpRequest) -> HttpResponse:
    patient, actor, context = _space(request)
    if request.method != "POST":
        now = _paris_now() + timedelta(days=1)
        form = AppointmentForm(initial={"date": now.date(), "time": "09:00", "duration": 30})
        return _appointment_form_page(request, context, form, None)
    form = AppointmentForm(request.POST)
    if form.is_valid():
        try:
            row = services.add_appointment(
                actor, patient, form.service_data(), author_name=_author_name(request)
            )
        except AppointmentInvalid as error:
            form.add_service_errors(error.errors)
        except NotAllowed:
            raise Http404 from None
        else:
            when = services.local_start(row)
            messages.success(request, f"Le rendez-vous du {_french(when)} est ajouté.")
            return redirect(_with_space(reverse("agenda:index"), patient, request))
    return _appointment_form_page(request, context, form, None)


def _french(moment: datetime) -> str:
    from espace_sante.access.dates import french_datetime

    return french_datetime(moment)


def _appointment(actor: Any, patient: Person, appointment_id: uuid.UUID) -> Appointment:
    try:
        return services.get_appointment(actor, patient, appointment_id)
    except NotAllowed:
        raise Http404 from None


@login_required
@never_cache
def appointment_edit(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    patient, actor, context = _space(request)
    row = _appointment(actor, patient, appointment_id)
    if not services.editable_by_person(row):
        # A professional's appointment: the person may cancel it, not rewrite it.
        messages.info(
            request,
            "Ce rendez-vous a été ajouté par un professionnel ou une application, ou il est "
            "annulé : vous ne pouvez pas le modifier. "
            "Vous pouvez l'annuler et en ajouter un autre.",
        )
        return redirect(_with_space(reverse("agenda:index"), patient, request))
    if request.method != "POST":
        starts = services.local_start(row)
        form = AppointmentForm(
            initial={
                "date": starts.date(),
                "time": starts.strftime("%H:%M"),
                "duration": row.duration_minutes,
                "with_whom": row.with_whom,
                "place": row.place,
                "reason": row.reason,
            }
        )
        return _appointment_form_page(request, context, form, row)
    form = AppointmentForm(request.POST)
    if form.is_valid():
        try:
            row = services.update_appointment(actor, patient, row.id, form.service_data())
        except AppointmentInvalid as error:
            form.add_service_errors(error.errors)
        except NotAllowed:
            raise Http404 from None
        else:
            messages.success(request, "Le rendez-vous est modifié.")
            return redirect(_with_space(reverse("agenda:index"), patient, request))
    return _appointment_form_page(request, context, form, row)


@login_required
@never_cache
def appointment_cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    patient, actor, context = _space(request)
    row = _appointment(actor, patient, appointment_id)
    if request.method == "POST":
        try:
            services.cancel_appointment(actor, patient, row.id)
        except NotAllowed:
            raise Http404 from None
        except AppointmentInvalid as error:
            messages.error(request, " ".join(error.errors.values()))
        else:
            messages.success(request, "Le rendez-vous est annulé.")
        return redirect(_with_space(reverse("agenda:index"), patient, request))
    context.update(
        page_title="Annuler le rendez-vous",
        item=_appointment_rows([row], actor)[0],
    )
    return _no_store(render(request, "agenda/appointment_cancel.html", context))


@login_required
@never_cache
@require_GET
def appointment_ics(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    patient, actor, _context = _space(request)
    try:
        data = services.appointment_calendar(actor, patient, appointment_id)
    except NotAllowed:
        raise Http404 from None
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rendez-vous.ics"'
    return _no_store(response)


# --- Prevention ----------------------------------------------------------------------

GROUPS = ((TO_DO, "À faire"), (TO_PLAN, "À planifier"), (DONE, "Fait"))


def _prevention_page(
    request: HttpRequest,
    patient: Person,
    actor: Any,
    context: dict[str, Any],
    *,
    errors: dict[str, Any] | None = None,
) -> HttpResponse:
    """The list grouped « À faire / À planifier / Fait »; ``errors`` re-shows what was typed.

    A refused form comes back with 200, like the profile's: the page is the answer.
    """
    try:
        forecast = services.prevention_forecast(actor, patient)
        chosen, choices = services.prevention_settings(actor, patient)
    except NotAllowed:
        raise Http404 from None
    today = timezone.localdate()
    errors = errors or {}
    groups = [
        (
            label,
            [
                {
                    "reminder": one,
                    "mandatory": one.level == MANDATORY,
                    "error": errors.get(one.rule_id),
                    "typed": errors.get(f"{one.rule_id}:typed", today.isoformat()),
                }
                for one in forecast.reminders
                if one.status == status_
            ],
        )
        for status_, label in GROUPS
    ]
    enabled = chosen is None or chosen.enabled
    context.update(
        page_title="Prévention",
        groups=groups,
        enabled=enabled,
        unrecognised=forecast.unrecognised,
        choices=choices,
        not_concerned=PreventionChoice.Choice.NOT_CONCERNED,
        today=today,
        may_be_pregnant=patient.sex == "F",
        pregnancy_start=chosen.pregnancy_start_date if chosen else None,
        delivery_on=chosen.delivery_on if chosen else None,
        pregnancy_error=errors.get("pregnancy"),
        # Said at the top too: the reminder it concerns may not be on the page (an unknown one).
        page_error=next((v for k, v in errors.items() if not k.endswith(":typed")), ""),
        pregnancy_typed=errors.get("pregnancy:typed", ""),
    )
    return _no_store(render(request, "agenda/prevention.html", context))


@login_required
@never_cache
@require_GET
def prevention(request: HttpRequest) -> HttpResponse:
    patient, actor, context = _space(request)
    return _prevention_page(request, patient, actor, context)


def _back_to_prevention(request: HttpRequest, patient: Person, anchor: str = "") -> HttpResponse:
    url = _with_space(reverse("agenda:prevention"), patient, request)
    return redirect(f"{url}#{anchor}" if anchor else url)


def _french_errors(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


@login_required
@never_cache
@require_POST
def prevention_done(request: HttpRequest) -> HttpResponse:
    patient, actor, context = _space(request)
    rule_id = request.POST.get("rule", "")[:64]
    typed = request.POST.get("on", "")[:40]
    form = DayForm({"on": typed})
    problem = ""
    if not form.is_valid():
        problem = " ".join(str(error) for error in form.errors["on"])
    else:
        try:
            services.mark_done(actor, patient, rule_id, form.cleaned_data["on"])
        except NotAllowed:
            raise Http404 from None
        except (ProfileInvalid, NotRecordable) as error:
            problem = _french_errors(error)
    if problem:
        errors = {rule_id: problem, f"{rule_id}:typed": typed}
        return _prevention_page(request, patient, actor, context, errors=errors)
    messages.success(request, "C'est noté : ce rappel est fait.")
    return _back_to_prevention(request, patient, f"rappel-{rule_id}")


@login_required
@never_cache
@require_POST
def prevention_choice(request: HttpRequest) -> HttpResponse:
    patient, actor, _context = _space(request)
    rule_id = request.POST.get("rule", "")[:64]
    choice = request.POST.get("choice") or None
    try:
        services.set_choice(actor, patient, rule_id, choice)
    except NotAllowed:
        raise Http404 from None
    except NotRecordable as error:
        messages.error(request, _french_errors(error))
        return _back_to_prevention(request, patient)
    if choice == PreventionChoice.Choice.NOT_CONCERNED:
        text = "C'est noté : vous n'êtes pas concerné(e) par ce rappel."
    elif choice:
        text = "Ce rappel est ignoré jusqu'à sa prochaine échéance."
    else:
        text = "Le rappel est rétabli."
    messages.success(request, text)
    return _back_to_prevention(request, patient)


@login_required
@never_cache
@require_POST
def prevention_switch(request: HttpRequest) -> HttpResponse:
    patient, actor, _context = _space(request)
    enabled = request.POST.get("enabled") == "1"
    try:
        services.set_prevention_enabled(actor, patient, enabled)
    except NotAllowed:
        raise Http404 from None
    messages.success(
        request,
        "La prévention personnalisée est activée."
        if enabled
        else "La prévention personnalisée est désactivée : aucun rappel ne sera affiché ni envoyé.",
    )
    return _back_to_prevention(request, patient)


@login_required
@never_cache
@require_POST
def prevention_pregnancy(request: HttpRequest) -> HttpResponse:
    patient, actor, context = _space(request)
    action = request.POST.get("action", "")
    typed = request.POST.get("on", "")[:40]
    try:
        if action == "end":
            services.declare_pregnancy(actor, patient, None)
            messages.success(request, "La grossesse n'est plus déclarée.")
            return _back_to_prevention(request, patient)
        form = DayForm({"on": typed})
        if form.is_valid():
            day = form.cleaned_data["on"]
            chosen, _choices = services.prevention_settings(actor, patient)
            start = chosen.pregnancy_start_date if chosen else None
            if action == "birth" and start is not None:
                services.declare_pregnancy(actor, patient, start, day)
                messages.success(request, "La naissance est enregistrée.")
            else:
                services.declare_pregnancy(actor, patient, day)
                messages.success(request, "La grossesse est déclarée : son suivi est ajouté.")
            return _back_to_prevention(request, patient, "grossesse")
        problem = " ".join(str(error) for error in form.errors["on"])
    except NotAllowed:
        raise Http404 from None
    except NotRecordable as error:
        problem = _french_errors(error)
    errors = {"pregnancy": problem, "pregnancy:typed": typed}
    return _prevention_page(request, patient, actor, context, errors=errors)


# --- Calendar feed ------------------------------------------------------------------


@login_required
@never_cache
@require_POST
def feed_settings(request: HttpRequest) -> HttpResponse:
    patient, actor, _context = _space(request)
    action = request.POST.get("action", "")
    details = request.POST.get("details") == "1"
    try:
        if action == "create":
            feed, token = services.create_feed(actor, patient, show_details=details)
            url = request.build_absolute_uri(reverse("agenda:feed", args=[feed.id, token]))
            request.session[NEW_FEED_KEY] = url
        elif action == "revoke":
            services.revoke_feed(actor, patient)
            messages.success(
                request, "Le lien est révoqué : il ne donne plus accès à votre agenda."
            )
        elif action == "details":
            services.set_feed_details(actor, patient, details)
            messages.success(
                request,
                "Les détails des rendez-vous sont affichés dans votre application de calendrier."
                if details
                else "Votre application de calendrier n'affiche plus que des titres neutres.",
            )
    except NotAllowed:
        raise Http404 from None
    return redirect(_with_space(reverse("agenda:index"), patient, request) + "#calendrier")


@never_cache
@require_GET
def feed(request: HttpRequest, feed_id: uuid.UUID, token: str) -> HttpResponse:
    """The secret address a calendar app reads, without a session (unknown or revoked: 404)."""
    key = f"agenda-feed-rate:{feed_id}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    if count > FEED_MAX_PER_HOUR:
        response = HttpResponse(
            "Trop de demandes pour cet agenda : réessayez dans une heure.",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "3600"
        return response
    try:
        data = services.feed_calendar(feed_id, token)
    except NotAllowed:
        raise Http404 from None
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="agenda.ics"'
    response["X-Robots-Tag"] = "noindex"
    return _no_store(response)


def _author_name(request: HttpRequest) -> str:
    """How the person's side is named to others of it (a parent's name in a child's agenda)."""
    person: Person | None = getattr(request.user, "person", None)
    return person.display_name if person is not None else ""
