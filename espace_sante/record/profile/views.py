"""Pages of the medical profile. Thin: parse input, call one service, render.

Every page names the patient in its URL, so that the same pages serve a
parent or a caregiver once the policy lets them in; today only the titulaire
passes. Whoever the policy refuses gets 404 (they may not know the profile
exists), after the refusal is traced by the service. Every response carries
``Cache-Control: no-store``: health data stays out of shared and browser caches.
"""

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from espace_sante.access.dates import french_datetime
from espace_sante.access.http import patient_page
from espace_sante.access.policy import Action, Actor
from espace_sante.identity.models import Person
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.uploads import UploadRefused

from . import services
from .chart import build_chart
from .forms import ProfileForm
from .measure_forms import MeasureForm, MeasureTargetForm
from .reference import MEASURES_BY_SLUG, SECTION_INFO, VACCINE_SUGGESTIONS, MeasureType
from .services import SECTIONS, SECTIONS_BY_SLUG, ProfileInvalid

if TYPE_CHECKING:
    # Only for types: the pages reach the tables through the services.
    from .encrypted import ProfileEntry
    from .models import Treatment, Vaccination

# Sections reached from the entourage page, not from the index.
SUBSECTIONS = {"volontes": "contacts"}


def _section(slug: str, *, singleton: bool | None = None) -> services.Section:
    """The section of ``slug``; 404 for an unknown one, or one not of the kind asked."""
    sec = SECTIONS_BY_SLUG.get(slug)
    if sec is None or (singleton is not None and sec.singleton != singleton):
        raise Http404
    return sec


def _section_url(patient: Person, sec: services.Section) -> str:
    slug = sec.info.slug
    if slug in SUBSECTIONS:
        slug = SECTION_INFO[SUBSECTIONS[slug]].slug
    return reverse("profile:section", args=[patient.id, slug])


def _documents_url(name: str, *args: object) -> str:
    return reverse(f"record:{name}", args=args)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The profile of the signed-in citizen (the menu's « Profil médical »)."""
    person = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    return redirect("profile:index", patient_id=person.id)


# --- Index ---------------------------------------------------------------------


def _card_lines(summary: services.ProfileSummary, sec: services.Section) -> list[str]:
    if sec.key == "treatments":
        current = summary.current_treatments
        return [f"{row.title} ({row.dosage})" if row.dosage else row.title for row in current]
    if sec.singleton:
        row = summary.singletons.get(sec.key)
        if row is None:
            return []
        if sec.key == "lifestyle":
            return [f"{label} : {text}" for label, text in row.details()]
        return [row.title]
    rows = summary.entries.get(sec.key, [])
    if sec.key == "vaccinations":  # the same vaccine comes back: the date tells them apart
        vaccinations = cast("list[Vaccination]", rows)  # the section's model is Vaccination
        return [f"{row.title} ({row.vaccinated_on:%d/%m/%Y})" for row in vaccinations]
    return [row.title for row in rows]


@patient_page
def index(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    summary = services.profile_summary(actor, patient)
    cards: list[dict[str, object]] = []
    for key in (
        "conditions",
        "treatments",
        "allergies",
        "vaccinations",
        "hospitalisations",
        "family_history",
        "measures",
        "lifestyle",
        "disabilities",
        "blood_group",
        "contacts",
    ):
        info = SECTION_INFO[key]
        if key == "measures":
            lines = [
                f"{item.measure.label} : {item.point.display}, le "
                f"{timezone.localtime(item.point.measured_at):%d/%m/%Y}"
                for item in summary.measured
                if item.point is not None  # always true: measured keeps only those
            ]
            url = reverse("profile:measures", args=[patient.id])
        else:
            sec = SECTIONS[key]
            lines = _card_lines(summary, sec)
            url = _section_url(patient, sec)
        if key == "contacts":
            wishes = summary.singletons.get("wishes")
            if wishes is not None:
                lines.append(wishes.title)
            if summary.directives:
                lines.append("Directives anticipées déposées dans vos documents")
        if key == "treatments" and not lines and summary.past_treatments:
            lines = ["Aucun traitement en cours"]
        cards.append(
            {
                "info": info,
                "url": url,
                "lines": lines[:4],
                "more": max(len(lines) - 4, 0),
            }
        )
    return render(
        request,
        "record/profile/index.html",
        {
            "page_title": "Profil médical",
            "patient": patient,
            "cards": cards,
            # A parent's view of a child's profile says whose it is (issue 18, item 5).
            "own_space": patient.user_id is not None and patient.user_id == request.user.pk,
        },
    )


# --- Sections --------------------------------------------------------------------


@patient_page
def section_page(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str
) -> HttpResponse:
    sec = _section(slug)
    if slug in SUBSECTIONS:
        return redirect(_section_url(patient, sec))
    context: dict[str, object] = {"page_title": sec.info.label, "patient": patient, "section": sec}
    if sec.singleton:
        context["entry"] = services.get_singleton(actor, patient, sec.key)
        return render(request, "record/profile/singleton.html", context)
    entries = services.list_section(actor, patient, sec.key)
    if sec.key == "treatments":
        treatments = cast("list[Treatment]", entries)  # the section's model is Treatment
        groups = [
            ("En cours", [row for row in treatments if row.is_current]),
            ("Terminés", [row for row in treatments if not row.is_current]),
        ]
        context["groups"] = [(title, rows) for title, rows in groups if rows]
    else:
        context["groups"] = [("", entries)] if entries else []
    if sec.key == "contacts":
        context["wishes_section"] = SECTIONS["wishes"]
        context["wishes"] = services.get_singleton(actor, patient, "wishes")
        context["directives"] = documents.list_documents(actor, patient.id, category="DIR_ANT")
        context["documents_url"] = _documents_url("document_list")
        context["upload_url"] = _documents_url("document_upload")
    return render(request, "record/profile/section.html", context)


def _form_page(
    request: HttpRequest,
    patient: Person,
    sec: services.Section,
    form: ProfileForm,
    *,
    save: Callable[[], "ProfileEntry"],
    saved: Callable[["ProfileEntry"], str],
    title: str,
    action_url: str,
) -> HttpResponse:
    """The form of an entry: a valid POST is saved (``save``), then back to the section."""
    if request.method == "POST":
        try:
            row = save()
        except ProfileInvalid as exc:
            form = exc.form
        else:
            messages.success(request, saved(row))
            return redirect(_section_url(patient, sec))
    return render(
        request,
        "record/profile/entry_form.html",
        {
            "page_title": title,
            "patient": patient,
            "section": sec,
            "form": form,
            "action_url": action_url,
            "back_url": _section_url(patient, sec),
            "vaccines": VACCINE_SUGGESTIONS if sec.key == "vaccinations" else [],
        },
    )


@patient_page
def entry_add(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str
) -> HttpResponse:
    sec = _section(slug, singleton=False)
    # Asked before showing an empty form, so a refused visitor sees nothing.
    services.check_section(actor, patient, Action.CREATE, sec.key)
    return _form_page(
        request,
        patient,
        sec,
        sec.form(patient=patient),
        save=lambda: services.add_entry(actor, patient, sec.key, request.POST),
        saved=lambda entry: f"C'est enregistré : « {entry.title} ».",
        title=sec.info.add_label,
        action_url=reverse("profile:entry_add", args=[patient.id, slug]),
    )


@patient_page
def entry_edit(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str, entry_id: uuid.UUID
) -> HttpResponse:
    sec = _section(slug, singleton=False)
    row = services.get_entry(actor, patient, sec.key, entry_id)
    return _form_page(
        request,
        patient,
        sec,
        sec.form(initial=services.entry_initial(row, sec.key), patient=patient),
        save=lambda: services.update_entry(actor, patient, sec.key, entry_id, request.POST),
        saved=lambda entry: f"C'est modifié : « {entry.title} ».",
        title=sec.info.edit_label,
        action_url=reverse("profile:entry_edit", args=[patient.id, slug, entry_id]),
    )


@patient_page
def entry_delete(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str, entry_id: uuid.UUID
) -> HttpResponse:
    sec = _section(slug, singleton=False)
    if request.method == "POST":
        services.delete_entry(actor, patient, sec.key, entry_id)
        messages.success(request, "C'est supprimé.")
        return redirect(_section_url(patient, sec))
    row = services.get_entry(actor, patient, sec.key, entry_id)
    return render(
        request,
        "record/profile/confirm_delete.html",
        {
            "page_title": "Confirmer la suppression",
            "patient": patient,
            "question": f"Voulez-vous vraiment supprimer « {row.title} » ?",
            "details": row.details(),
            "back_url": _section_url(patient, sec),
        },
    )


@patient_page
def singleton_edit(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str
) -> HttpResponse:
    sec = _section(slug, singleton=True)
    row = services.get_singleton(actor, patient, sec.key)
    initial = services.entry_initial(row, sec.key) if row else {}
    return _form_page(
        request,
        patient,
        sec,
        sec.form(initial=initial, patient=patient),
        save=lambda: services.save_singleton(actor, patient, sec.key, request.POST),
        saved=lambda entry: "C'est enregistré.",
        title=sec.info.edit_label if row else sec.info.add_label,
        action_url=reverse("profile:singleton_edit", args=[patient.id, slug]),
    )


@patient_page
def singleton_clear(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str
) -> HttpResponse:
    sec = _section(slug, singleton=True)
    if request.method == "POST":
        services.clear_singleton(actor, patient, sec.key)
        messages.success(request, "C'est effacé.")
        return redirect(_section_url(patient, sec))
    row = services.get_singleton(actor, patient, sec.key)
    if row is None:
        return redirect(_section_url(patient, sec))
    return render(
        request,
        "record/profile/confirm_delete.html",
        {
            "page_title": "Confirmer l'effacement",
            "patient": patient,
            "question": f"Voulez-vous vraiment effacer : {sec.info.label.lower()} ?",
            "details": [(sec.info.label, row.title)] if not row.details() else row.details(),
            "back_url": _section_url(patient, sec),
            "confirm_label": "Oui, effacer",
        },
    )


# --- Measures --------------------------------------------------------------------


def _measure(slug: str) -> MeasureType:
    measure = MEASURES_BY_SLUG.get(slug)
    if measure is None:
        raise Http404
    return measure


@patient_page
def measures(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    summary = services.latest_measures(actor, patient)
    return render(
        request,
        "record/profile/measures.html",
        {
            "page_title": "Mesures",
            "patient": patient,
            "info": SECTION_INFO["measures"],
            "items": summary,
        },
    )


@patient_page
def measure_page(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str
) -> HttpResponse:
    measure = _measure(slug)
    form: ProfileForm | None = None
    if request.method == "POST":
        try:
            services.add_measure(actor, patient, measure.code, request.POST)
        except ProfileInvalid as exc:
            form = exc.form
        else:
            messages.success(request, "La mesure est enregistrée.")
            return redirect("profile:measure", patient_id=patient.id, slug=slug)
    points = services.measure_series(actor, patient, measure.code)
    target = services.get_measure_target(actor, patient, measure.code)
    if form is None:
        # Offer the unit the patient used last (g/L or mmol/L for glucose).
        initial = {"unit": points[0].unit} if points else {}
        form = MeasureForm(measure, initial=initial, patient=patient)
    return render(
        request,
        "record/profile/measure.html",
        {
            "page_title": measure.label,
            "patient": patient,
            "measure": measure,
            "points": points,
            "chart": build_chart(measure, points, target),
            "target": target,
            "form": form,
        },
    )


@patient_page
def measure_delete(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str, measure_id: uuid.UUID
) -> HttpResponse:
    measure = _measure(slug)
    back = reverse("profile:measure", args=[patient.id, slug])
    if request.method == "POST":
        services.delete_measure(actor, patient, measure_id)
        messages.success(request, "La mesure est supprimée.")
        return redirect(back)
    point = services.get_measure(actor, patient, measure_id)
    if point.measure.code != measure.code:
        raise Http404
    when = timezone.localtime(point.measured_at)
    return render(
        request,
        "record/profile/confirm_delete.html",
        {
            "page_title": "Confirmer la suppression",
            "patient": patient,
            "question": f"Voulez-vous vraiment supprimer cette mesure ({measure.label.lower()}) ?",
            "details": [("Valeur", point.display), ("Date", french_datetime(when))],
            "back_url": back,
        },
    )


@patient_page
def measure_target(
    request: HttpRequest, actor: Actor | None, patient: Person, slug: str
) -> HttpResponse:
    measure = _measure(slug)
    back = reverse("profile:measure", args=[patient.id, slug])
    target = services.get_measure_target(actor, patient, measure.code)
    initial: dict[str, Decimal | None] = {}
    if target is not None:
        initial = {"value": target.value, "second_value": target.second_value}
    form: ProfileForm = MeasureTargetForm(measure, initial=initial, patient=patient)
    if request.method == "POST":
        if "effacer" in request.POST:
            services.clear_measure_target(actor, patient, measure.code)
            messages.success(request, "L'objectif est effacé.")
            return redirect(back)
        try:
            services.set_measure_target(actor, patient, measure.code, request.POST)
        except ProfileInvalid as exc:
            form = exc.form
        else:
            messages.success(request, "L'objectif est enregistré.")
            return redirect(back)
    return render(
        request,
        "record/profile/measure_target.html",
        {
            "page_title": f"Objectif : {measure.label.lower()}",
            "patient": patient,
            "measure": measure,
            "target": target,
            "form": form,
            "back_url": back,
        },
    )


# --- Printable summary -------------------------------------------------------------


@patient_page
def summary_pdf(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    content = services.summary_pdf(actor, patient)
    response = HttpResponse(content, content_type="application/pdf")
    filename = f"synthese-profil-medical-{timezone.localdate():%Y-%m-%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@patient_page
def summary_save(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    try:
        document = services.save_summary_to_documents(actor, patient)
    except UploadRefused as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("profile:index", patient_id=patient.id)
    messages.success(
        request,
        "La synthèse est enregistrée dans vos documents, catégorie « Ma santé en résumé ».",
    )
    return redirect(_documents_url("document_detail", document.id))
