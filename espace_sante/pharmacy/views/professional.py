"""The pharmacy's inbox of prescriptions (/pro/pharmacie/). Thin views over services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from espace_sante.access.http import acting_professional
from espace_sante.access.policy import NotAllowed
from espace_sante.messaging.services import MessagingRefused
from espace_sante.messaging.views.shared import with_organization
from espace_sante.pharmacy import services
from espace_sante.pharmacy.models import PrescriptionOrder


@login_required
@never_cache
@with_organization
def inbox(request, actor):
    status = request.GET.get("statut", "")
    if status not in PrescriptionOrder.Status.values:
        status = ""
    try:
        items = services.pharmacy_inbox(actor, status)
    except NotAllowed:
        raise Http404 from None
    response = render(
        request,
        "pharmacy/professional/inbox.html",
        {
            "page_title": "Ordonnances reçues",
            "items": items,
            "statuses": PrescriptionOrder.Status.choices,
            "current": status,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def set_status(request, order_id):
    actor = acting_professional(request)
    try:
        order = services.access_order(actor, order_id)
        services.set_status(actor, order, request.POST.get("status", ""))
    except NotAllowed:
        raise Http404 from None
    except ValueError:
        messages.error(request, "Choisissez un statut de la liste.")
    except MessagingRefused as refusal:
        messages.error(request, refusal.messages[0])
    else:
        order.refresh_from_db()
        messages.success(
            request,
            f"Statut enregistré : « {order.get_status_display()} ». Le patient est prévenu.",
        )
    return redirect("messaging_pro:conversation", conversation_id=order.conversation_id)
