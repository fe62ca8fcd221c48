"""What the patient's and the professional's messaging pages do the same way."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from espace_sante.access.http import acting_professional, decrypted_response
from espace_sante.access.policy import NotAllowed
from espace_sante.messaging import services
from espace_sante.messaging.forms import ReplyForm
from espace_sante.messaging.models import Conversation
from espace_sante.messaging.services import MessagingRefused


def with_organization(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view gets the professional acting for a chosen organisation (``actor``).

    Without one, the professional is sent to choose it first: messages go out in an
    organisation's name, and a pharmacy's list is its organisation's.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        actor = acting_professional(request)
        if actor is None or actor.organization_id is None:
            messages.info(request, "Choisissez d'abord la structure pour laquelle vous exercez.")
            return redirect("portal:account")
        return view(request, actor, *args, **kwargs)

    return wrapper


def conversation_or_404(actor, conversation_id) -> Conversation:
    try:
        return services.access_conversation(actor, conversation_id)
    except NotAllowed:
        raise Http404 from None


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def form_errors(request: HttpRequest, form) -> None:
    for errors in form.errors.values():
        messages.error(request, errors[0])


def act_on_conversation(
    request: HttpRequest,
    form,
    act: Callable[[dict], object],
    *,
    success: str,
    conversation: Conversation,
    back: str,
) -> HttpResponse:
    """Do ``act`` with a valid form, tell how it went, and go back to the conversation."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except MessagingRefused as refusal:
            messages.error(request, refusal.messages[0])
        else:
            messages.success(request, success)
    else:
        form_errors(request, form)
    return redirect(back, conversation_id=conversation.id)


def reply(request: HttpRequest, actor, conversation: Conversation, *, success: str, back: str):
    """Post a reply (text and files) from the conversation page."""
    return act_on_conversation(
        request,
        ReplyForm(request.POST, request.FILES),
        lambda data: services.reply(actor, conversation, data["body"], data["attachments"]),
        success=success,
        conversation=conversation,
        back=back,
    )


def attachment_download(actor, attachment_id) -> HttpResponse:
    """The decrypted bytes of an attachment the actor may read, as a download."""
    try:
        found, filename = services.access_attachment(actor, attachment_id)
    except NotAllowed:
        raise Http404 from None
    return decrypted_response(
        services.iter_attachment(found),
        content_type=found.mime_type,
        size=found.size,
        disposition="attachment",
        filename=filename,
    )
