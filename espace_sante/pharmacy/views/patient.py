"""« Envoyer une ordonnance à une pharmacie » (patient side). Thin views over services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from espace_sante.access.http import citizen_actor
from espace_sante.access.policy import NotAllowed
from espace_sante.messaging.services import MessagingRefused
from espace_sante.pharmacy import services
from espace_sante.pharmacy.forms import PrescriptionForm, SearchForm
from espace_sante.record.documents import services as record


@login_required
@never_cache
def send(request):
    """Choose the pharmacy (used before, or searched), then the prescription, then send."""
    person = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    actor = citizen_actor(request)
    search = SearchForm(request.GET or None)
    results = services.search_pharmacies(search.data.get("q", "")) if search.is_valid() else []
    pharmacy = services.find_pharmacy(request.GET.get("pharmacie") or request.POST.get("pharmacie"))
    form = None
    if pharmacy is not None:
        documents = record.list_documents(actor, person.id)
        # Prescriptions first, then the rest.
        documents.sort(key=lambda item: item.document.category != "ORD_SOIN")
        form = PrescriptionForm(
            request.POST or None,
            request.FILES or None,
            documents=documents,
            initial={"document": request.GET.get("document", "")},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            from_photo = data["source"] == PrescriptionForm.SOURCE_PHOTO
            try:
                order = services.send_prescription(
                    actor,
                    person,
                    pharmacy,
                    document_id=None if from_photo else data["document"],
                    photo=data["photo"] if from_photo else None,
                    note=data["note"],
                )
            except MessagingRefused as refusal:
                form.add_error(None, refusal.messages[0])
            except NotAllowed:
                raise Http404 from None
            else:
                messages.success(
                    request,
                    f"Votre ordonnance est envoyée à {pharmacy.name}. Vous serez prévenu(e) "
                    "quand elle sera prête.",
                )
                return redirect("messaging:conversation", conversation_id=order.conversation_id)
    response = render(
        request,
        "pharmacy/send.html",
        {
            "page_title": "Envoyer une ordonnance à une pharmacie",
            "search": search,
            "results": results,
            "searched": bool(search.data.get("q")),
            "used": services.pharmacies_used(actor, person),
            "pharmacy": pharmacy,
            "form": form,
            "document_id": request.GET.get("document", ""),
        },
    )
    response["Cache-Control"] = "no-store"
    return response
