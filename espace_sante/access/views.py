"""Paramètres pages of the citizen: index, activity history, reports, notifications.

Thin: parse input, call one access function or service, render. Only the
titulaire reaches their own pages; anyone else gets 404.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from espace_sante.identity.models import Person

from . import history as history_presentation
from . import notifications as notification_services
from . import reports
from .forms import HistoryFilterForm, NotificationForm, ReportForm
from .policy import Actor, NotAllowed, actor_for_user


def _own_space(request: HttpRequest) -> tuple[Person, Actor | None]:
    """The signed-in citizen and their actor; 404 for professionals, operators, anyone else."""
    person: Person | None = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    return person, actor_for_user(request.user)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
def settings_index(request: HttpRequest) -> HttpResponse:
    _own_space(request)
    return _no_store(render(request, "access/settings_index.html", {"page_title": "Paramètres"}))


@login_required
@never_cache
def history(request: HttpRequest) -> HttpResponse:
    patient, actor = _own_space(request)
    tab = request.GET.get("onglet", history_presentation.TAB_OTHERS)
    if tab not in history_presentation.TABS:
        tab = history_presentation.TAB_OTHERS
    form = HistoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        number = 1
    try:
        page = history_presentation.history_page(
            actor,
            patient.id,
            tab=tab,
            period=filters.get("period", ""),
            kind=filters.get("kind", ""),
            page=number,
        )
    except NotAllowed:
        raise Http404 from None
    query = request.GET.copy()
    query.pop("page", None)
    filters_query = request.GET.copy()
    for name in ("page", "onglet"):
        filters_query.pop(name, None)
    return _no_store(
        render(
            request,
            "access/history.html",
            {
                "page_title": "Historique des accès",
                "form": form,
                "page": page,
                "tab": tab,
                "tabs": history_presentation.TABS,
                "tab_others": history_presentation.TAB_OTHERS,
                "filtered": bool(filters and any(filters.values())),
                "query": query.urlencode(),
                "filters_query": filters_query.urlencode(),
            },
        )
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, entry_id: uuid.UUID) -> HttpResponse:
    patient, actor = _own_space(request)
    try:
        entry = reports.reportable_entry(actor, patient.id, entry_id)
    except NotAllowed:
        raise Http404 from None
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reports.report_access(actor, patient, entry.id, form.cleaned_data["comment"])
        except NotAllowed:
            raise Http404 from None
        messages.success(
            request,
            "Votre signalement est enregistré. L'équipe d'espace-santé va l'examiner ; "
            "vous pouvez aussi bloquer ce professionnel dans vos paramètres de confidentialité.",
        )
        return redirect(reverse("access:history") + "?onglet=professionnels")
    [item] = history_presentation.describe(actor, patient.id, [entry])
    return _no_store(
        render(
            request,
            "access/history_report.html",
            {"page_title": "Signaler un accès", "item": item, "form": form},
        )
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    patient, actor = _own_space(request)
    current = notification_services.preferences(patient.id)
    form = NotificationForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            notification_services.set_preferences(actor, patient, form.cleaned_data)
        except notification_services.NotAllowedToChange:
            raise Http404 from None
        messages.success(request, "Vos préférences de notification sont enregistrées.")
        return redirect("access:notifications")
    return _no_store(
        render(
            request,
            "access/notifications.html",
            {"page_title": "Notifications", "form": form},
        )
    )
