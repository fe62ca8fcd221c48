"""The professional portal: choose the organisation, find a patient, read and deposit.

Thin views over identity, access and record services; every decision is the
policy's, every access is audited by the services.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from espace_sante.access import caseload, policy
from espace_sante.access import services as access
from espace_sante.access.consent_models import EmergencyAccess
from espace_sante.access.dates import french_time
from espace_sante.access.guard import decide
from espace_sante.access.http import (
    SESSION_ORGANIZATION,
    acting_professional,
    active_roles,
    found_by_traits,
    professional_of,
    remember_found,
)
from espace_sante.access.policy import Action, NotAllowed
from espace_sante.agenda import services as agenda
from espace_sante.identity import services as identity
from espace_sante.identity.models import Organization, Person
from espace_sante.messaging import services as messaging
from espace_sante.record.documents import services as record
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.uploads import UploadRefused
from espace_sante.record.documents.views import stream_document

from .forms import AppointmentForm, DepositForm, EmergencyForm, FindPatientForm

MODE_LABELS = {
    policy.Mode.MEDECIN_TRAITANT: "Vous êtes son médecin traitant.",
    policy.Mode.ADMINISTRATEUR: "Le patient vous a désigné administrateur de son dossier.",
    policy.Mode.CARE_TEAM: "Votre structure prend en charge ce patient (équipe de soins).",
    policy.Mode.CONSENT: "Le patient vous a donné son consentement.",
    policy.Mode.EMERGENCY_BTG: "Accès d'urgence (bris de glace) en cours.",
    policy.Mode.EMERGENCY_SAMU: "Accès de régulation du SAMU en cours.",
}


@login_required
@never_cache
def account(request):
    professional = professional_of(request)
    roles = active_roles(professional)
    if request.method == "POST":
        wanted = request.POST.get("organization", "")
        if any(str(role.organization_id) == wanted for role in roles):
            request.session[SESSION_ORGANIZATION] = wanted
            messages.success(request, "Vous exercez désormais pour cette structure.")
            return redirect("portal:find_patient")
        messages.error(request, "Choisissez une de vos structures d'exercice.")
    return render(
        request,
        "portal/account.html",
        {
            "page_title": "Mon compte",
            "professional": professional,
            "roles": roles,
            "chosen": acting_professional(request).organization_id,
        },
    )


@login_required
@never_cache
def find_patient(request):
    actor = acting_professional(request)
    form = FindPatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = identity.find_person_by_ins(
                data["matricule"], data["birth_date"], data["birth_name"]
            )
        except ValidationError as error:
            form.add_error("matricule", error)
        except identity.IdentityMismatch:
            form.add_error(
                None,
                "Les traits d'identité ne correspondent pas à ce matricule INS : vérifiez la "
                "date de naissance et le nom de naissance (pas le nom d'usage) sur la carte "
                "Vitale ou une pièce d'identité.",
            )
        else:
            if person is None:
                form.add_error(
                    None,
                    "Aucun espace santé ne correspond à ce matricule INS. Le patient a peut-être "
                    "refusé la création de son espace.",
                )
            else:
                access.trace_lookup(actor, person)
                remember_found(request, person)
                return redirect("portal:patient", patient_id=person.id)
    return render(
        request,
        "portal/find_patient.html",
        {
            "page_title": "Erreur : mes patients" if form.errors else "Mes patients",
            "form": form,
            "actor": actor,
            "needs_organization": actor.organization_id is None,
            "patients": caseload.patients_of(actor),
            "emergencies": caseload.emergencies_for_medecin_traitant(actor),
            "unread": messaging.unread_for_professional(actor),
        },
    )


@login_required
@never_cache
def patient(request, patient_id):
    actor = acting_professional(request)
    person = get_object_or_404(Person, pk=patient_id)
    if not access.identity_shown(actor, person, found_by_traits=found_by_traits(request, person)):
        raise Http404
    return _patient_page(request, actor, person)


def _patient_page(request, actor, person: Person, appointment_form=None, status=200):
    # What the page offers; the lists themselves are guarded and traced by the services.
    decision = decide(actor, Action.LIST, person.id)
    documents = []
    if decision:
        documents = record.list_documents(actor, person.id)
    else:
        access.trace_identity(actor, person)
    may_book = bool(decide(actor, Action.LIST, person.id, section=policy.AGENDA))
    appointments = agenda.list_appointments(actor, person) if may_book else []
    emergency = access.active_emergency(actor, person)
    response = render(
        request,
        "portal/patient.html",
        {
            "page_title": person.display_name,
            "person": person,
            "actor": actor,
            "allowed": bool(decision),
            "mode_label": MODE_LABELS.get(decision.mode, ""),
            "documents": documents,
            "emergency": emergency,
            "emergency_form": EmergencyForm(),
            "may_book": may_book,
            "appointments": [(row, agenda.local_start(row)) for row in appointments],
            "appointment_form": appointment_form
            or AppointmentForm(initial={"with_whom": professional_of(request).display_name}),
            "deposit_form": DepositForm(
                own_documents=[
                    item
                    for item in documents
                    if item.document.author_professional_id == actor.professional_id
                    and item.document.status == Document.Status.CURRENT
                ]
            ),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def add_appointment(request, patient_id):
    """Book an appointment in the patient's agenda; a refused form keeps what was typed."""
    person = _named_patient(request, patient_id)
    actor = acting_professional(request)
    form = AppointmentForm(request.POST)
    if form.is_valid():
        try:
            agenda.add_appointment(actor, person, form.appointment())
        except agenda.AppointmentInvalid as refused:
            for name, message in refused.errors.items():
                form.add_error(_FORM_FIELD.get(name, name), message)
        except NotAllowed:
            form.add_error(
                None,
                "Vous ne pouvez pas ajouter de rendez-vous à l'agenda de ce patient : il faut "
                "être son médecin traitant, faire partie de son équipe de soins ou avoir son "
                "consentement.",
            )
        else:
            messages.success(request, "Le rendez-vous est ajouté à l'agenda du patient.")
            return redirect("portal:patient", patient_id=person.id)
    return _patient_page(request, actor, person, appointment_form=form, status=400)


# Where a refusal of the agenda's service is shown in the portal's form.
_FORM_FIELD = {"starts_at": "day", "time_zone": None}


@login_required
@require_POST
def cancel_appointment(request, patient_id, appointment_id):
    person = _named_patient(request, patient_id)
    try:
        agenda.cancel_appointment(acting_professional(request), person, appointment_id)
    except NotAllowed:
        raise Http404 from None
    except agenda.AppointmentInvalid as refused:
        messages.error(request, next(iter(refused.errors.values())))
    else:
        messages.success(request, "Le rendez-vous est annulé ; le patient le voit dans son agenda.")
    return redirect("portal:patient", patient_id=person.id)


def _named_patient(request, patient_id) -> Person:
    """The patient a portal action is about, under the patient page's rule.

    A consent, a care team, an emergency or a deposit needs the patient found by
    their traits in this session or an existing reason: a UUID alone must not
    open a relation (and with it the identity).
    """
    person = get_object_or_404(Person, pk=patient_id)
    actor = acting_professional(request)
    if not access.identity_shown(actor, person, found_by_traits=found_by_traits(request, person)):
        raise Http404
    return person


def _relation_change(request, patient_id, change, done: str):
    """Apply one access service to the patient; its refusal is shown, never raised."""
    person = _named_patient(request, patient_id)
    try:
        change(acting_professional(request), person)
    except access.AccessChangeRefused as refusal:
        messages.error(request, refusal.messages[0])
    else:
        messages.success(request, done)
    return redirect("portal:patient", patient_id=person.id)


@login_required
@require_POST
def record_consent(request, patient_id):
    return _relation_change(
        request, patient_id, access.record_consent, "Le consentement du patient est enregistré."
    )


@login_required
@require_POST
def declare_care_team(request, patient_id):
    return _relation_change(
        request,
        patient_id,
        access.declare_care_team,
        "La prise en charge par votre structure est enregistrée.",
    )


@login_required
@require_POST
def emergency(request, patient_id):
    person = _named_patient(request, patient_id)
    form = EmergencyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Écrivez pourquoi l'accès d'urgence est nécessaire.")
        return redirect("portal:patient", patient_id=person.id)
    try:
        granted = access.start_emergency_access(
            acting_professional(request),
            person,
            EmergencyAccess.Kind.BTG,
            form.cleaned_data["justification"],
        )
    except access.AccessChangeRefused as refusal:
        messages.error(request, refusal.messages[0])
    else:
        messages.warning(
            request,
            f"Accès d'urgence ouvert jusqu'à {french_time(granted.expires_at)}. Le patient et "
            "son médecin traitant en seront informés.",
        )
    return redirect("portal:patient", patient_id=person.id)


@login_required
@require_POST
def deposit(request, patient_id):
    person = _named_patient(request, patient_id)
    actor = acting_professional(request)
    replaces = None
    if request.POST.get("replaces"):
        try:
            replaces = record.access_document(actor, request.POST["replaces"], Action.REPLACE)
        except NotAllowed:
            raise Http404 from None
    form = DepositForm(
        request.POST,
        request.FILES,
        own_documents=[record.ListedDocument(replaces, "")] if replaces else (),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            record.add_document(
                actor,
                person,
                data["file"],
                record.NewDocument(
                    title=data["title"],
                    type_code=data["type_code"],
                    source=Document.Source.PROFESSIONAL,
                    document_date=data["document_date"],
                    author_professional=professional_of(request),
                    author_organization=Organization.objects.filter(
                        pk=actor.organization_id
                    ).first(),
                    replaces=replaces,
                ),
            )
        except UploadRefused as refusal:
            messages.error(request, refusal.messages[0])
        except NotAllowed:
            raise Http404 from None
        else:
            messages.success(
                request,
                "La nouvelle version remplace l'ancienne dans le dossier du patient."
                if replaces
                else "Le document est déposé dans le dossier du patient.",
            )
    else:
        for errors in form.errors.values():
            messages.error(request, errors[0])
    return redirect("portal:patient", patient_id=person.id)


@login_required
@require_POST
def withdraw(request, document_id):
    actor = acting_professional(request)
    try:
        document = record.access_document(actor, document_id, Action.WITHDRAW)
        record.withdraw_document(actor, document)
    except NotAllowed:
        raise Http404 from None
    messages.success(request, "Le document est retiré du dossier du patient.")
    return redirect("portal:patient", patient_id=document.patient_id)


@login_required
def document_content(request, document_id):
    try:
        document = record.access_document(acting_professional(request), document_id)
    except NotAllowed:
        raise Http404 from None
    return stream_document(document, record.document_title(document), "inline")
