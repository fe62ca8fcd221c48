"""What the patient's and the professional's messaging pages do the same way."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from espace_sante.access.http import (
    STORAGE_FULL_RETRY_AFTER_SECONDS,
    acting_professional,
    decrypted_response,
)
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


def reply_form(actor, *args) -> ReplyForm:
    """The reply form, its help giving the size this sender may really attach."""
    max_bytes, _ = services.attachment_limits(actor)
    return ReplyForm(*args, max_bytes=max_bytes)


def reply(
    request: HttpRequest,
    actor,
    conversation: Conversation,
    *,
    success: str,
    back: str,
    page: Callable[..., HttpResponse],
) -> HttpResponse:
    """Post a reply (text and files) from the conversation page.

    A refused reply shows the conversation again with what the person typed
    (``page(form, status)``): nothing is lost, and the message says why. Files
    cannot be kept by a browser, so it says to choose them again.
    """
    form = reply_form(actor, request.POST, request.FILES)
    status = 200
    if form.is_valid():
        try:
            services.reply(
                actor, conversation, form.cleaned_data["body"], form.cleaned_data["attachments"]
            )
        except MessagingRefused as refusal:
            form.add_error(None, refusal.messages[0])
            if refusal.code == "storage_full":
                status = 503
        else:
            messages.success(request, success)
            return redirect(back, conversation_id=conversation.id)
    if request.FILES:
        form.add_error(
            None,
            "Votre texte est conservé ci-dessous ; les pièces jointes n'ont pas été envoyées : "
            "choisissez-les à nouveau.",
        )
    messages.error(
        request,
        "Votre message n'a pas été envoyé : la raison est indiquée dans le formulaire, "
        "où votre texte est conservé.",
    )
    response = page(form, status)
    if status == 503:
        response["Retry-After"] = STORAGE_FULL_RETRY_AFTER_SECONDS
    return response


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
