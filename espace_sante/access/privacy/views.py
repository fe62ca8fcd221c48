"""« Qui peut voir mon dossier »: the patient's privacy settings pages.

Thin views: parse the form, call one verb of ``access.services``, say what
changed, redirect (POST-redirect-GET). The verbs decide who may change what
and write the audit entry; a change the rules refuse comes back as
``AccessChangeRefused`` with a French sentence shown to the person. Anyone
who does not manage the space (policy: titulaire, representative, aidant)
gets 404, as for any page of a record they may not know exists. Every
response carries ``Cache-Control: no-store``.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from espace_sante.access import services
from espace_sante.access.consent_models import Consent, PatientRole
from espace_sante.access.http import patient_page
from espace_sante.access.policy import Actor, NotAllowed, patient_side_mode
from espace_sante.access.services import AccessChangeRefused
from espace_sante.identity.models import Person, Professional

from .forms import (
    MASKED,
    ROLE_HELP,
    VISIBLE,
    EmergencyForm,
    MaskEverythingForm,
    NewDocumentsForm,
    RemoveRoleForm,
    RoleForm,
    SearchForm,
)

ROLE_LABELS = dict(PatientRole.Kind.choices)


def _require_manager(actor: Actor | None, patient: Person) -> None:
    """For pages that show a form before any change: the same rule as the verbs."""
    if patient_side_mode(actor, patient.id) is None:
        raise NotAllowed


def _settings_posted(
    form_class: type[django_forms.Form], request: HttpRequest, actor: Actor | None, patient: Person
) -> dict[str, bool]:
    """The checkboxes posted to a settings form (optional booleans: always valid)."""
    _require_manager(actor, patient)
    form = form_class(request.POST)
    form.is_valid()
    return dict(form.cleaned_data)


def _refusal(refusal: AccessChangeRefused) -> str:
    return " ".join(refusal.messages)


def _back(patient: Person) -> HttpResponse:
    return redirect("privacy:index", patient_id=patient.id)


def _saved(request: HttpRequest, patient: Person, what: str) -> HttpResponse:
    """Say what a setting now does, back on the main page."""
    messages.success(request, f"C'est enregistré : {what}")
    return _back(patient)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in citizen's own space (a parent reaches a child's from its URL)."""
    person: Person | None = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    response = redirect("privacy:index", patient_id=person.id)
    response["Cache-Control"] = "no-store"
    return response


# --- The main page ----------------------------------------------------------


@dataclass
class AccessRow:
    """One professional on the main page, with what the patient may do about them."""

    professional: Professional
    reasons: list[str]
    blocked: bool
    consent: Consent | None
    medecin_traitant: bool
    has_access: bool = True
    roles: list[tuple[str, str]] = field(default_factory=list)  # (kind, label)


def _rows(actor: Actor | None, patient: Person) -> list[AccessRow]:
    rows: list[AccessRow] = []
    for item in services.professionals_with_access(actor, patient):
        rows.append(
            AccessRow(
                professional=item.professional,
                reasons=item.reasons,
                blocked=item.blocked,
                consent=item.consent,
                medecin_traitant=item.is_medecin_traitant,
                has_access=item.has_access,
                roles=[(kind, PatientRole.Kind(kind).label) for kind in item.role_kinds],
            )
        )
    # The médecin traitant first: the one access the patient cannot change.
    return sorted(rows, key=lambda row: not row.medecin_traitant)


def _render_index(
    request: HttpRequest,
    actor: Actor | None,
    patient: Person,
    *,
    status: int = 200,
    **forms: django_forms.Form,
) -> HttpResponse:
    rows = _rows(actor, patient)  # checks that the actor manages this space
    current = services.settings_for(patient)
    active = [row for row in rows if not row.blocked]
    roles = [
        (
            kind,
            label,
            [(row.professional, row) for row in active if kind in dict(row.roles)],
        )
        for kind, label in PatientRole.Kind.choices
    ]
    forms.setdefault(
        "new_documents_form",
        NewDocumentsForm(initial={"visibility": MASKED if current.mask_new_documents else VISIBLE}),
    )
    forms.setdefault(
        "mask_everything_form",
        MaskEverythingForm(initial={"mask_everything": current.mask_everything}),
    )
    forms.setdefault(
        "emergency_form",
        EmergencyForm(
            initial={
                "emergency_samu": current.emergency_samu,
                "emergency_btg": current.emergency_btg,
                "emergency_masked": current.emergency_masked,
            }
        ),
    )
    return render(
        request,
        "access/privacy/index.html",
        {
            "page_title": "Qui peut voir mon dossier",
            "patient": patient,
            "own_space": patient.user_id is not None and patient.user_id == request.user.pk,
            "active_rows": active,
            "blocked_rows": [row for row in rows if row.blocked],
            "roles": roles,
            "medecin_traitant": patient.medecin_traitant,
            "settings": current,
            **forms,
        },
        status=status,
    )


@patient_page
def index(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    return _render_index(request, actor, patient)


# --- Blocking, unblocking, consent -------------------------------------------


@patient_page
def block(
    request: HttpRequest, actor: Actor | None, patient: Person, professional_id: uuid.UUID
) -> HttpResponse:
    """A confirmation page that says what blocking does, then the block itself."""
    professional = get_object_or_404(Professional, pk=professional_id)
    if request.method == "POST":
        try:
            services.block_professional(actor, patient, professional)
        except AccessChangeRefused as refusal:
            messages.error(request, _refusal(refusal))
        else:
            messages.success(
                request,
                f"Vous avez bloqué {professional.display_name} : ce professionnel ne peut plus "
                "lire votre dossier. Il peut toujours vous envoyer des documents.",
            )
        return _back(patient)
    row = next((r for r in _rows(actor, patient) if r.professional.id == professional.id), None)
    if row is not None and row.blocked:
        messages.info(request, f"{professional.display_name} est déjà bloqué.")
        return _back(patient)
    return render(
        request,
        "access/privacy/block_confirm.html",
        {
            "page_title": f"Bloquer {professional.display_name}",
            "patient": patient,
            "professional": professional,
            "row": row,
            "medecin_traitant": professional.id == patient.medecin_traitant_id,
        },
    )


def _professional_change(
    change: Callable[[Actor | None, Person, Professional], bool], done: str
) -> Callable[..., HttpResponseBase]:
    """A page (POST) that runs one service about a professional and says what happened.

    ``done`` is said when something changed (``{name}``: the professional);
    when nothing had to change, the person is told so.
    """

    @patient_page
    @require_POST
    def view(
        request: HttpRequest, actor: Actor | None, patient: Person, professional_id: uuid.UUID
    ) -> HttpResponse:
        professional = get_object_or_404(Professional, pk=professional_id)
        try:
            changed = change(actor, patient, professional)
        except AccessChangeRefused as refusal:
            messages.error(request, _refusal(refusal))
        else:
            if changed:
                messages.success(request, done.format(name=professional.display_name))
            else:
                messages.info(request, "Il n'y avait rien à changer.")
        return _back(patient)

    return view


unblock = _professional_change(
    services.unblock_professional,
    "Vous avez débloqué {name}. Pour lire de nouveau votre dossier, ce professionnel devra "
    "vous demander votre consentement.",
)
revoke_consent = _professional_change(
    services.revoke_consent,
    "Vous avez retiré votre consentement à {name}. Pour lire de nouveau votre dossier, ce "
    "professionnel devra vous le demander.",
)


# --- Roles ----------------------------------------------------------------------


def _search(data: QueryDict) -> tuple[SearchForm | None, list[Professional] | None]:
    if "name" not in data:
        return None, None
    form = SearchForm(data)
    return form, (form.results() if form.is_valid() else None)


@patient_page
def role_add(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    """Give a role to a professional found by RPPS number or by name."""
    _require_manager(actor, patient)
    if request.method == "POST":
        form = RoleForm(request.POST)
        search_form, results = _search(request.POST)
        if form.is_valid():
            professional = form.cleaned_data["found"]
            kind = form.cleaned_data["kind"]
            try:
                services.set_role(actor, patient, professional, kind)
            except AccessChangeRefused as refusal:
                form.add_error(None, refusal)
            else:
                messages.success(
                    request,
                    f"{professional.display_name} est maintenant « {ROLE_LABELS[kind]} ».",
                )
                return _back(patient)
    else:
        form = RoleForm(initial={"kind": request.GET.get("role")})
        search_form, results = _search(request.GET)
    return render(
        request,
        "access/privacy/role_add.html",
        {
            "page_title": "Donner un rôle à un professionnel",
            "patient": patient,
            "form": form,
            "search_form": search_form or SearchForm(),
            "results": results,
            "role_help": ROLE_HELP,
        },
        status=400 if request.method == "POST" else 200,
    )


@patient_page
@require_POST
def role_remove(
    request: HttpRequest, actor: Actor | None, patient: Person, professional_id: uuid.UUID
) -> HttpResponse:
    professional = get_object_or_404(Professional, pk=professional_id)
    form = RemoveRoleForm(request.POST)
    if not form.is_valid():
        raise Http404
    kind = form.cleaned_data["kind"]
    try:
        services.remove_role(actor, patient, professional, kind)
    except AccessChangeRefused as refusal:
        messages.error(request, _refusal(refusal))
    else:
        messages.success(
            request,
            f"{professional.display_name} n'est plus « {ROLE_LABELS[kind]} ».",
        )
    return _back(patient)


# --- Settings ---------------------------------------------------------------------


@patient_page
@require_POST
def new_documents(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    form = NewDocumentsForm(request.POST)
    if not form.is_valid():
        return _render_index(request, actor, patient, status=400, new_documents_form=form)
    services.update_settings(actor, patient, mask_new_documents=form.mask_new_documents)
    return _saved(
        request,
        patient,
        "vos prochains documents seront masqués aux professionnels."
        if form.mask_new_documents
        else "vos prochains documents seront visibles par les professionnels qui ont accès à "
        "votre dossier.",
    )


@patient_page
@require_POST
def mask_everything(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    """Asked from the main page, confirmed on a page of its own, then changed."""
    posted = _settings_posted(MaskEverythingForm, request, actor, patient)
    wanted = posted["mask_everything"]
    if wanted == services.settings_for(patient).mask_everything:
        messages.info(request, "Ce réglage n'a pas changé.")
        return _back(patient)
    if not posted["confirmed"]:
        return render(
            request,
            "access/privacy/mask_everything_confirm.html",
            {
                "page_title": "Tout masquer, urgences comprises"
                if wanted
                else "Ne plus tout masquer",
                "patient": patient,
                "wanted": wanted,
            },
        )
    services.update_settings(actor, patient, mask_everything=wanted)
    return _saved(
        request,
        patient,
        "tous vos documents sont masqués aux professionnels, urgences comprises."
        if wanted
        else "vos documents ne sont plus tous masqués. Ceux que vous avez masqués un par un le "
        "restent.",
    )


@patient_page
@require_POST
def emergency(request: HttpRequest, actor: Actor | None, patient: Person) -> HttpResponse:
    changes = _settings_posted(EmergencyForm, request, actor, patient)
    if services.settings_for(patient).mask_everything:
        # While everything is masked, masked documents stay hidden in an emergency:
        # the checkbox is shown disabled and its (absent) value is not a choice.
        changes.pop("emergency_masked")
    current = services.update_settings(actor, patient, **changes)
    said = [
        "le SAMU peut consulter votre dossier"
        if current.emergency_samu
        else "le SAMU ne peut pas consulter votre dossier",
        "le bris de glace est autorisé" if current.emergency_btg else "le bris de glace est refusé",
        "vos documents masqués restent cachés en urgence"
        if not current.emergency_masked
        else "vos documents masqués sont visibles en urgence",
    ]
    messages.success(
        request, "Vos choix pour les urgences sont enregistrés : " + ", ".join(said) + "."
    )
    return _back(patient)
