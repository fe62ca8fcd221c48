"""Paramètres pages of the citizen: index, activity history, reports, notifications.

Thin: parse input, call one access function or service, render. Only the
titulaire reaches their own pages; anyone else gets 404.
"""

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

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


def own_space_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in citizen only, never cached (``no-store``), a refusal answered by 404.

    The view is called as ``view(request, patient, actor, ...)``: the signed-in
    citizen's own space; professionals, operators and anyone else get 404.
    """

    @login_required
    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        person: Person | None = getattr(request.user, "person", None)
        if person is None:
            raise Http404
        try:
            response = view(request, person, actor_for_user(request.user), *args, **kwargs)
        except NotAllowed:
            raise Http404 from None
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


@own_space_page
def settings_index(request: HttpRequest, patient: Person, actor: Actor | None) -> HttpResponse:
    return render(request, "access/settings_index.html", {"page_title": "Paramètres"})


@own_space_page
def history(request: HttpRequest, patient: Person, actor: Actor | None) -> HttpResponse:
    tab = request.GET.get("onglet", history_presentation.TAB_OTHERS)
    if tab not in history_presentation.TABS:
        tab = history_presentation.TAB_OTHERS
    form = HistoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        number = 1
    page = history_presentation.history_page(
        actor,
        patient.id,
        tab=tab,
        period=filters.get("period", ""),
        kind=filters.get("kind", ""),
        page=number,
    )
    query = request.GET.copy()
    query.pop("page", None)
    filters_query = request.GET.copy()
    for name in ("page", "onglet"):
        filters_query.pop(name, None)
    return render(
        request,
        "access/history.html",
        {
            "page_title": "Historique des accès",
            "form": form,
            "page": page,
            "tab": tab,
            "tabs": history_presentation.TABS,
            "tab_others": history_presentation.TAB_OTHERS,
            "tab_service": history_presentation.TAB_SERVICE,
            "filtered": bool(filters and any(filters.values())),
            "query": query.urlencode(),
            "filters_query": filters_query.urlencode(),
        },
    )


@own_space_page
@require_http_methods(["GET", "POST"])
def report(
    request: HttpRequest, patient: Person, actor: Actor | None, entry_id: uuid.UUID
) -> HttpResponse:
    entry = reports.reportable_entry(actor, patient.id, entry_id)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reports.report_access(actor, patient, entry.id, form.cleaned_data["comment"])
        messages.success(
            request,
            "Votre signalement est enregistré. L'équipe d'espace-santé va l'examiner ; "
            "vous pouvez aussi bloquer ce professionnel dans vos paramètres de confidentialité.",
        )
        return redirect(reverse("access:history") + "?onglet=professionnels")
    [item] = history_presentation.describe(actor, patient.id, [entry])
    return render(
        request,
        "access/history_report.html",
        {"page_title": "Signaler un accès", "item": item, "form": form},
    )


@own_space_page
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest, patient: Person, actor: Actor | None) -> HttpResponse:
    current = notification_services.preferences(patient.id)
    form = NotificationForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            notification_services.set_preferences(actor, patient, form.cleaned_data)
        except notification_services.NotAllowedToChange:
            raise Http404 from None
        messages.success(request, "Vos préférences de notification sont enregistrées.")
        return redirect("access:notifications")
    return render(
        request, "access/notifications.html", {"page_title": "Notifications", "form": form}
    )
