"""The professional's messaging in the portal (/pro/messagerie/). Thin views over services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from espace_sante.access import services as access
from espace_sante.access.http import acting_professional, found_by_traits
from espace_sante.access.policy import NotAllowed
from espace_sante.identity.models import Organization, Person
from espace_sante.messaging import extensions, services
from espace_sante.messaging.forms import CloseForm, ComposeForm
from espace_sante.messaging.services import MessagingRefused

from . import shared
from .shared import conversation_or_404, no_store, with_organization


@login_required
@never_cache
@with_organization
def inbox(request, actor):
    groups = services.professional_inbox(actor)
    organization = Organization.objects.filter(pk=actor.organization_id).first()
    return no_store(
        render(
            request,
            "messaging/professional/inbox.html",
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
@with_organization
def compose(request, actor, patient_id):
    """Write to a patient found through the portal's patient search."""
    person = get_object_or_404(Person, pk=patient_id)
    if not access.identity_shown(actor, person, found_by_traits=found_by_traits(request, person)):
        raise Http404
    if request.method == "GET":
        access.trace_identity(actor, person)
    max_bytes, _ = services.attachment_limits(actor)
    form = ComposeForm(request.POST or None, request.FILES or None, max_bytes=max_bytes)
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
    return no_store(
        render(
            request,
            "messaging/professional/compose.html",
            {"page_title": f"Écrire à {person.display_name}", "form": form, "person": person},
        )
    )


def _conversation_page(request, actor, found, form, status=200):
    page = services.read_conversation(actor, found)
    return no_store(
        render(
            request,
            "messaging/professional/conversation.html",
            {
                "page_title": page.subject,
                "page": page,
                "form": form,
                "close_form": CloseForm(),
                "kind_pages": extensions.pages_of(found),
                "attachment_url": "messaging_pro:attachment",
            },
            status=status,
        )
    )


@login_required
@never_cache
def conversation(request, conversation_id):
    actor = acting_professional(request)
    found = conversation_or_404(actor, conversation_id)
    return _conversation_page(request, actor, found, shared.reply_form(actor))


@login_required
@require_POST
def reply(request, conversation_id):
    actor = acting_professional(request)
    found = conversation_or_404(actor, conversation_id)
    return shared.reply(
        request,
        actor,
        found,
        success="Votre message est envoyé.",
        back="messaging_pro:conversation",
        page=lambda form, status: _conversation_page(request, actor, found, form, status),
    )


@login_required
@require_POST
def close(request, conversation_id):
    actor = acting_professional(request)
    found = conversation_or_404(actor, conversation_id)

    def close_it(data):
        try:
            services.close_conversation(actor, found, data["reason"])
        except NotAllowed:
            raise MessagingRefused("Cette conversation est déjà fermée.") from None

    return shared.act_on_conversation(
        request,
        CloseForm(request.POST),
        close_it,
        success="La conversation est fermée ; le patient voit votre motif.",
        conversation=found,
        back="messaging_pro:conversation",
    )


@login_required
def attachment(request, attachment_id):
    return shared.attachment_download(acting_professional(request), attachment_id)
