"""The operator console: campaigns, counts, letters, import reports. No health data.

Only operator accounts (kind "operator", or staff) reach it; anyone else gets
a 404, as for any page they may not know exists. Every number comes from the
enrollment services; nothing here reads a health model.
"""

import uuid
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from espace_sante.enrollment import services, tasks
from espace_sante.enrollment.models import Campaign, ImportReport, LetterBatch
from espace_sante.identity.models import User

from .forms import CampaignForm, ImportForm, PersonActionForm, PersonSearchForm


def operator_page(view):
    @login_required
    @never_cache
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not (user.kind == User.Kind.OPERATOR or user.is_staff):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@operator_page
def campaigns(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.create_campaign(
                data["name"], data["department"], data["start_date"], data["objection_days"]
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Campagne « {campaign.name} » créée.")
            return redirect("operator:campaign", campaign_id=campaign.pk)
    rows = [(c, services.campaign_counts(c)) for c in Campaign.objects.all()]
    return render(
        request,
        "operator/campaigns.html",
        {"rows": rows, "form": form, "page_title": "Campagnes"},
    )


@operator_page
def campaign(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return render(
        request,
        "operator/campaign.html",
        {
            "campaign": campaign,
            "counts": services.campaign_counts(campaign),
            "batches": campaign.letter_batches.all()[:50],
            "imports": campaign.imports.all()[:20],
            "form": ImportForm(),
            "started": services.campaign_has_started(campaign),
            "page_title": campaign.name,
        },
    )


@operator_page
@require_POST
def upload(request, campaign_id):
    """Keep the uploaded file and import it in the background (progress on the page)."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("file", ["Fichier invalide."])))
        return redirect("operator:campaign", campaign_id=campaign.pk)
    upload = form.cleaned_data["file"]
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4()}.csv"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    tasks.import_file.enqueue(str(campaign.pk), str(path), upload.name)
    messages.success(
        request,
        f"Fichier « {upload.name} » reçu : l'import se fait en arrière-plan, "
        "rechargez la page pour suivre sa progression.",
    )
    return redirect("operator:campaign", campaign_id=campaign.pk)


@operator_page
@require_POST
def invite(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if not services.campaign_has_started(campaign):
        messages.error(
            request, f"La campagne commence le {campaign.start_date:%d/%m/%Y} : rien n'est envoyé."
        )
    else:
        tasks.send_invitations.enqueue(str(campaign.pk))
        messages.success(
            request,
            "Les invitations partent en arrière-plan : courriels d'abord, puis les courriers "
            "à imprimer.",
        )
    return redirect("operator:campaign", campaign_id=campaign.pk)


@operator_page
def letters(request, campaign_id, batch_id):
    batch = get_object_or_404(LetterBatch, pk=batch_id, campaign_id=campaign_id)
    return FileResponse(
        services.open_letter_batch(batch),
        as_attachment=True,
        filename=f"courriers-{batch.created_at:%Y%m%d-%H%M}-{batch.count}.pdf",
        content_type="application/pdf",
    )


@operator_page
def refused_lines(request, campaign_id, report_id):
    report = get_object_or_404(ImportReport, pk=report_id, campaign_id=campaign_id)
    response = StreamingHttpResponse(
        services.refused_lines_csv(report), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="lignes-refusees-{report.pk}.csv"'
    return response


@operator_page
@require_http_methods(["GET", "POST"])
def person(request):
    """Find a person by NIR, sent in the body: a NIR in the address would land in access logs."""
    form = PersonSearchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        found = services.find_person(form.cleaned_data["nir"])
        if found is not None:
            return redirect("operator:person_detail", person_id=found.pk)
        form.add_error("nir", "Aucune personne ne correspond à ce numéro.")
    return render(
        request,
        "operator/person.html",
        {"form": form, "page_title": "Rechercher une personne"},
    )


@operator_page
def person_detail(request, person_id):
    """A person's space: its state and lifecycle history, and the operator's actions."""
    from espace_sante.identity.models import Person

    found = get_object_or_404(Person, pk=person_id)
    return render(
        request,
        "operator/person.html",
        {
            "form": PersonSearchForm(),
            "person": found,
            "history": services.history(found),
            "can_suspend": services.can(found, "suspended"),
            "can_resume": services.can(found, "resumed"),
            "can_close": services.can(found, "closed"),
            "action_form": PersonActionForm(),
            "page_title": f"Espace de {found.first_names} {found.birth_name}",
        },
    )


@operator_page
@require_POST
def person_action(request, person_id, action):
    from espace_sante.identity.models import Person

    person = get_object_or_404(Person, pk=person_id)
    form = PersonActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Indiquez le motif de l'action.")
    else:
        reason = form.cleaned_data["reason"]
        try:
            if action == "suspendre":
                services.suspend_space(person, actor=request.user, reason=reason)
            elif action == "reprendre":
                services.resume_space(person, actor=request.user, reason=reason)
            elif action == "fermer":
                services.close_space(person, actor=request.user, note=reason)
            else:
                raise Http404
        except services.TransitionRefused:
            messages.error(
                request, "Cette action n'est pas possible dans l'état actuel de l'espace."
            )
        else:
            messages.success(request, "C'est fait ; la personne en est informée par courriel.")
    return redirect("operator:person_detail", person_id=person.pk)
