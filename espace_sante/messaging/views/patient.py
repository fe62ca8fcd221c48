"""The citizen's messaging pages (/messagerie/). Thin: one access function, one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from espace_sante.access.http import citizen_actor, space_shown
from espace_sante.access.policy import NotAllowed
from espace_sante.messaging import extensions, services
from espace_sante.messaging.forms import SaveAttachmentForm
from espace_sante.messaging.services import MessagingRefused

from . import shared
from .shared import conversation_or_404, no_store


def _person(request):
    person = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    return person


def _conversation(request, conversation_id):
    return conversation_or_404(citizen_actor(request), conversation_id)


@login_required
@never_cache
def inbox(request):
    # Her own space, or ``?espace=`` of a child she represents or a person she helps.
    person = space_shown(request)
    items = services.inbox(citizen_actor(request), person)
    return no_store(
        render(
            request,
            "messaging/inbox.html",
            {
                "page_title": "Messagerie",
                "items": items,
                "patient": person,
                "own_space": person == _person(request),
                "other_kinds": extensions.registered(),
                "unread": sum(1 for item in items if item.unread),
            },
        )
    )


def _conversation_page(request, found, form, status=200):
    page = services.read_conversation(citizen_actor(request), found)
    return no_store(
        render(
            request,
            "messaging/conversation.html",
            {
                "page_title": page.subject,
                "page": page,
                "form": form,
                "attachment_url": "messaging:attachment",
            },
            status=status,
        )
    )


@login_required
@never_cache
def conversation(request, conversation_id):
    found = _conversation(request, conversation_id)
    return _conversation_page(request, found, shared.reply_form(citizen_actor(request)))


@login_required
@require_POST
def reply(request, conversation_id):
    found = _conversation(request, conversation_id)
    return shared.reply(
        request,
        citizen_actor(request),
        found,
        success="Votre réponse est envoyée.",
        back="messaging:conversation",
        page=lambda form, status: _conversation_page(request, found, form, status),
    )


@login_required
def attachment(request, attachment_id):
    return shared.attachment_download(citizen_actor(request), attachment_id)


@login_required
@never_cache
def save_attachment(request, attachment_id):
    """« Ajouter à mes documents »: the patient picks the title and the type."""
    actor = citizen_actor(request)
    try:
        found, filename = services.describe_attachment(actor, attachment_id)
    except NotAllowed:
        raise Http404 from None
    conversation_id = found.message.conversation_id
    form = SaveAttachmentForm(
        request.POST or None, initial={"title": filename.rsplit(".", 1)[0][:200]}
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = services.save_attachment_to_documents(
                actor,
                found.id,
                category=form.cleaned_data["category"],
                title=form.cleaned_data["title"],
            )
        except MessagingRefused as refusal:
            form.add_error(None, refusal.messages[0])
        except NotAllowed:
            raise Http404 from None
        else:
            messages.success(request, "La pièce jointe est ajoutée à vos documents.")
            return redirect("record:document_detail", document_id=document.id)
    return no_store(
        render(
            request,
            "messaging/save_attachment.html",
            {
                "page_title": "Ajouter à mes documents",
                "form": form,
                "filename": filename,
                "attachment": found,
                "conversation_id": conversation_id,
            },
        )
    )


@login_required
@never_cache
def delete(request, conversation_id):
    found = _conversation(request, conversation_id)
    if request.method == "POST":
        try:
            services.delete_for_patient(citizen_actor(request), found)
        except NotAllowed:
            raise Http404 from None
        messages.success(request, "La conversation et ses pièces jointes sont supprimées.")
        return redirect("messaging:inbox")
    return no_store(
        render(
            request,
            "messaging/delete.html",
            {
                "page_title": "Supprimer la conversation",
                "conversation": found,
            },
        )
    )
