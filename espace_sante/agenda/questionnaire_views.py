"""Mon bilan prévention pages: the list of questionnaires, one page per step, the end.

Thin: parse the form, call one service of ``agenda.questionnaires``, render. The
space shown is the person's own or ``?espace=`` of someone they represent or
help (``access.http.space_shown``); every page says whose space it is.
Works without JavaScript: each button is a plain submit.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from espace_sante.access.http import citizen_actor, space_shown
from espace_sante.access.policy import NotAllowed
from espace_sante.identity.models import Person

from . import questionnaires as services

NEXT, LATER, PREVIOUS = "suivant", "plus-tard", "precedent"


def _space_query(request: HttpRequest, patient: Person) -> str:
    """``?espace=…`` when the page shows someone else's space, else ""."""
    own = patient == getattr(request.user, "person", None)
    return "" if own else "?" + urlencode({"espace": str(patient.id)})


def _url(request: HttpRequest, patient: Person, name: str, *args: object) -> str:
    return reverse(name, args=args) + _space_query(request, patient)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _band(band: str) -> str:
    if band not in services.BANDS:
        raise Http404
    return band


def _context(request: HttpRequest, patient: Person, **extra: object) -> dict[str, object]:
    space_query = _space_query(request, patient)
    return {"patient": patient, "own_space": not space_query, "space_query": space_query, **extra}


@login_required
@never_cache
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    patient = space_shown(request)
    try:
        states = services.overview(citizen_actor(request), patient)
    except NotAllowed:
        raise Http404 from None
    context = _context(request, patient, page_title="Mon bilan prévention", states=states)
    return _no_store(render(request, "agenda/questionnaire_list.html", context))


@login_required
@never_cache
def questionnaire_start(request: HttpRequest, band: str) -> HttpResponse:
    """Where « Commencer » or « Reprendre » leads: the first step not yet saved."""
    patient = space_shown(request)
    try:
        filling = services.current_filling(citizen_actor(request), patient, _band(band))
    except NotAllowed:
        raise Http404 from None
    return redirect(_url(request, patient, "agenda:questionnaire_step", band, filling.shown_step))


def _render_step(
    request: HttpRequest,
    patient: Person,
    filling: services.Filling,
    number: int,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> HttpResponse:
    q = filling.questionnaire
    step = q.steps[number - 1]
    questions = [
        {
            "question": question,
            "value": values.get(question.link_id, ""),
            "error": (errors or {}).get(question.link_id, ""),
            "field_id": f"q-{question.link_id}",
        }
        for question in step.questions
    ]
    context = _context(
        request,
        patient,
        page_title=f"{step.title} — étape {number} sur {filling.step_count} — Mon bilan prévention",
        questionnaire=q,
        step=step,
        number=number,
        step_count=filling.step_count,
        next_step=q.steps[number] if number < filling.step_count else None,
        is_last=number == filling.step_count,
        questions=questions,
        errors=errors or {},
        error_list=[item for item in questions if item["error"]],
    )
    status = 400 if errors else 200
    return _no_store(render(request, "agenda/questionnaire_step.html", context, status=status))


@login_required
@never_cache
def questionnaire_step(request: HttpRequest, band: str, number: int) -> HttpResponse:
    patient = space_shown(request)
    actor = citizen_actor(request)
    band = _band(band)
    try:
        filling = services.current_filling(actor, patient, band)
    except NotAllowed:
        raise Http404 from None
    if not 1 <= number <= filling.step_count:
        raise Http404
    if number > filling.shown_step:
        # No skipping ahead past a step never saved: back to the first one.
        return redirect(
            _url(request, patient, "agenda:questionnaire_step", band, filling.shown_step)
        )
    if request.method != "POST":
        return _render_step(request, patient, filling, number, filling.answers)

    action = request.POST.get("action", NEXT)
    try:
        saved = services.save_step(
            actor, patient, band, number, request.POST, done=action in (NEXT,)
        )
    except services.QuestionnaireInvalid as invalid:
        return _render_step(request, patient, filling, number, invalid.values, invalid.errors)
    except NotAllowed:
        raise Http404 from None

    if action == LATER:
        messages.success(
            request,
            f"Vos réponses sont enregistrées. Vous reprendrez à l'étape {saved.shown_step} "
            f"sur {saved.step_count}.",
        )
        return redirect(_url(request, patient, "agenda:questionnaire_list"))
    if action == PREVIOUS and number > 1:
        return redirect(_url(request, patient, "agenda:questionnaire_step", band, number - 1))
    if number < saved.step_count:
        return redirect(_url(request, patient, "agenda:questionnaire_step", band, number + 1))
    try:
        services.complete(actor, patient, band)
    except services.QuestionnaireIncomplete as missing:
        messages.warning(
            request,
            f"Il reste l'étape {missing.step} à enregistrer avant de terminer le questionnaire.",
        )
        return redirect(_url(request, patient, "agenda:questionnaire_step", band, missing.step))
    except NotAllowed:
        raise Http404 from None
    return redirect(_url(request, patient, "agenda:questionnaire_done", band))


@login_required
@never_cache
def questionnaire_done(request: HttpRequest, band: str) -> HttpResponse:
    patient = space_shown(request)
    try:
        completed = services.last_completed(citizen_actor(request), patient, _band(band))
    except NotAllowed:
        raise Http404 from None
    if completed is None:
        return redirect(_url(request, patient, "agenda:questionnaire_start", band))
    context = _context(
        request,
        patient,
        page_title="Questionnaire terminé — Mon bilan prévention",
        questionnaire=services.questionnaire(band),
        completed=completed,
    )
    return _no_store(render(request, "agenda/questionnaire_done.html", context))
