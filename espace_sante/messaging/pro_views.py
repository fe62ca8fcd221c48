"""The professional's messaging in the portal (/pro/messagerie/). Thin views over services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from espace_sante.access.http import acting_professional
from espace_sante.access.policy import NotAllowed
from espace_sante.identity.models import Organization, Person

from . import extensions, services
from .forms import CloseForm, ComposeForm, ReplyForm
from .services import MessagingRefused
from .views import _errors, _no_store, stream_attachment


def _actor_with_organization(request):
    """The professional acting for a chosen organisation, or None (then choose one)."""
    actor = acting_professional(request)
    if actor is None or actor.organization_id is None:
        messages.info(request, "Choisissez d'abord la structure pour laquelle vous exercez.")
        return None
    return actor


def _conversation(actor, conversation_id):
    try:
        return services.access_conversation(actor, conversation_id)
    except NotAllowed:
        raise Http404 from None


@login_required
@never_cache
def inbox(request):
    actor = _actor_with_organization(request)
    if actor is None:
        return redirect("portal:account")
    groups = services.professional_inbox(actor)
    organization = Organization.objects.filter(pk=actor.organization_id).first()
    return _no_store(
        render(
            request,
            "messaging/pro_inbox.html",
            {
                "page_title": "Messagerie",
                "groups": groups,
                # A pharmacy also follows its prescriptions in their own list.
                "other_inboxes": extensions.for_organization_kind(organization.kind)
                if organization
                else [],
            },
        )
    )


@login_required
@never_cache
def compose(request, patient_id):
    """Write to a patient found through the portal's patient search."""
    actor = _actor_with_organization(request)
    if actor is None:
        return redirect("portal:account")
    person = get_object_or_404(Person, pk=patient_id)
    form = ComposeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            conversation = services.start_conversation(
                actor,
                person,
                subject=data["subject"],
                body=data["body"],
                attachments=data["attachments"],
                reply_mode=data["reply_mode"],
                from_mailbox=data["from_mailbox"],
            )
        except MessagingRefused as refusal:
            form.add_error(None, refusal.messages[0])
        else:
            messages.success(request, f"Votre message est envoyé à {person.display_name}.")
            return redirect("messaging_pro:conversation", conversation_id=conversation.id)
    return _no_store(
        render(
            request,
            "messaging/compose.html",
            {"page_title": f"Écrire à {person.display_name}", "form": form, "person": person},
        )
    )


@login_required
@never_cache
def conversation(request, conversation_id):
    actor = acting_professional(request)
    found = _conversation(actor, conversation_id)
    page = services.read_conversation(actor, found)
    return _no_store(
        render(
            request,
            "messaging/pro_conversation.html",
            {
                "page_title": page.subject,
                "page": page,
                "form": ReplyForm(),
                "close_form": CloseForm(),
                "kind_pages": extensions.pages_of(found),
                "attachment_url": "messaging_pro:attachment",
            },
        )
    )


@login_required
@require_POST
def reply(request, conversation_id):
    actor = acting_professional(request)
    found = _conversation(actor, conversation_id)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.reply(
                actor, found, form.cleaned_data["body"], form.cleaned_data["attachments"]
            )
        except MessagingRefused as refusal:
            messages.error(request, refusal.messages[0])
        else:
            messages.success(request, "Votre message est envoyé.")
    else:
        _errors(request, form)
    return redirect("messaging_pro:conversation", conversation_id=found.id)


@login_required
@require_POST
def close(request, conversation_id):
    actor = acting_professional(request)
    found = _conversation(actor, conversation_id)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.close_conversation(actor, found, form.cleaned_data["reason"])
        except MessagingRefused as refusal:
            messages.error(request, refusal.messages[0])
        except NotAllowed:
            messages.error(request, "Cette conversation est déjà fermée.")
        else:
            messages.success(request, "La conversation est fermée ; le patient voit votre motif.")
    else:
        _errors(request, form)
    return redirect("messaging_pro:conversation", conversation_id=found.id)


@login_required
def attachment(request, attachment_id):
    try:
        found, filename = services.access_attachment(acting_professional(request), attachment_id)
    except NotAllowed:
        raise Http404 from None
    return stream_attachment(found, filename)
