import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from espace_sante.access.http import (
    RETRY_AFTER_SECONDS,
    STORAGE_FULL_RETRY_AFTER_SECONDS,
    STORAGE_FULL_TEXT,
    UNAVAILABLE_TEXT,
    database_unreachable,
)
from espace_sante.crypto.blobs import is_storage_full
from espace_sante.identity.models import User
from espace_sante.identity.services import represented_people

from .context_processors import (
    BUILT_SECTIONS,
    CITIZEN_SECTIONS,
    PROFESSIONAL_SECTIONS,
    section_url,
)
from .scheduler import scheduler_health
from .worker import worker_health

# What each section will offer; shown as is until the section is built, so
# nobody mistakes an empty page for lost data.
UPCOMING = {
    "documents": "Vos ordonnances, résultats d'analyses, comptes rendus et autres documents, "
    "déposés par vos professionnels de santé ou par vous-même.",
    "profil": "Vos antécédents, traitements, allergies, vaccinations, mesures et volontés.",
    "messagerie": "Les messages sécurisés que vos professionnels de santé vous envoient.",
    "agenda": "Vos rendez-vous médicaux et vos rappels de vaccination, de dépistage et de "
    "prévention.",
    "parametres": "Qui peut voir vos documents, l'historique des accès, vos notifications "
    "et la fermeture de votre espace.",
    "patients": "Les dossiers des patients que vous suivez, dans le respect de leurs choix.",
    "messagerie-pro": "Vos échanges sécurisés avec vos patients.",
    "compte-pro": "Vos structures d'exercice et vos moyens de connexion.",
}


@login_required
def home(request):
    user = request.user
    context = {"page_title": "Accueil"}
    if user.kind == User.Kind.CITIZEN and hasattr(user, "person"):
        person = user.person
        context.update(
            person=person,
            children=list(represented_people(person)),
            coming=_coming(request, person),
            sections=[(section_url(s), label, UPCOMING[s]) for s, label in CITIZEN_SECTIONS],
        )
        return render(request, "web/home_citizen.html", context)
    if user.kind == User.Kind.PROFESSIONAL and hasattr(user, "professional"):
        professional = user.professional
        context.update(
            professional=professional,
            roles=professional.roles.select_related("organization").filter(end_date=None),
            sections=[(section_url(s), label, UPCOMING[s]) for s, label in PROFESSIONAL_SECTIONS],
        )
        return render(request, "web/home_professional.html", context)
    if user.kind == User.Kind.OPERATOR:
        return redirect("operator:campaigns")  # the console is the operator's home
    return render(request, "web/home_other.html", context)


def _coming(request, person) -> dict:
    """The home page's « À venir »: next appointment, reminders due, new documents, unread."""
    from espace_sante.access.http import citizen_actor
    from espace_sante.access.policy import NotAllowed
    from espace_sante.agenda import services as agenda
    from espace_sante.agenda.models import Appointment
    from espace_sante.agenda.prevention import TO_DO
    from espace_sante.messaging.reading import unread_for_patient
    from espace_sante.record.documents import services as documents

    actor = citizen_actor(request)
    try:
        upcoming = agenda.list_appointments(
            actor, person, start=timezone.now(), statuses=[Appointment.Status.BOOKED]
        )
        reminders = agenda.prevention_forecast(actor, person).reminders
        new_documents = documents.document_page(actor, person.id, per_page=1).new_count
    except NotAllowed:
        return {}
    nxt = upcoming[0] if upcoming else None
    return {
        "next": nxt,
        "next_starts": agenda.local_start(nxt) if nxt else None,
        "next_added_by": agenda.added_by(nxt, actor) if nxt else "",
        "due": sum(1 for one in reminders if one.status == TO_DO),
        "new_documents": new_documents,
        "unread": unread_for_patient(person.id),
    }


@login_required
def section(request, slug: str):
    sections = dict(
        CITIZEN_SECTIONS if request.user.kind == User.Kind.CITIZEN else PROFESSIONAL_SECTIONS
    )
    if slug not in sections:
        raise Http404
    if slug in BUILT_SECTIONS:
        return redirect(section_url(slug))
    return render(
        request,
        "web/upcoming.html",
        {"page_title": sections[slug], "description": UPCOMING[slug], "slug": slug},
    )


@require_GET
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    """The database answers (else 503); the workers' and schedulers' heartbeats, said but
    not failing.

    A silent worker or scheduler does not make this web node unready (taking it out of a
    load balancer would not help), so it answers 200 with status "degraded".
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        workers = worker_health() if uses_database_queue() else {}
        schedulers = scheduler_health()
    except Exception:  # any database failure means "not ready", never a stack trace
        response = JsonResponse({"status": "unavailable", "database": "injoignable"}, status=503)
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    healthy = workers.get("worker", "ok") == "ok" and schedulers["scheduler"] == "ok"
    status = "ok" if healthy else "degraded"
    return JsonResponse({"status": status, "database": "ok", **workers, **schedulers})


def uses_database_queue() -> bool:
    return settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db")


def server_error(request):
    """The 500 handler; a database that does not answer is a 503 with Retry-After.

    It renders without the request's context: the context processors read the
    database, which may be what failed.
    """
    error = sys.exc_info()[1]
    if is_storage_full(error):
        # A door that did not catch it (a body spooled to a full disk, a page not yet
        # taught to say it): still a clear 503 and "nothing stored", never a bare 500.
        return _storage_full_response(request)
    unreachable = database_unreachable(error)
    status = 503 if unreachable else 500
    if request.path.startswith("/fhir/") or "json" in request.headers.get("Accept", ""):
        text = (
            UNAVAILABLE_TEXT
            if unreachable
            else "Erreur interne du serveur : la demande n'a pas pu être traitée."
        )
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "transient" if unreachable else "exception",
                    "diagnostics": text,
                }
            ],
        }
        response = JsonResponse(outcome, status=status, content_type="application/fhir+json")
    else:
        template = "503.html" if unreachable else "500.html"
        response = HttpResponse(render_to_string(template), status=status)
    if unreachable:
        response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _storage_full_response(request):
    if request.path.startswith("/fhir/") or "json" in request.headers.get("Accept", ""):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "no-store", "diagnostics": STORAGE_FULL_TEXT}],
        }
        response = JsonResponse(outcome, status=503, content_type="application/fhir+json")
    else:
        response = HttpResponse(
            render_to_string("503_storage.html", {"text": STORAGE_FULL_TEXT}), status=503
        )
    response["Retry-After"] = STORAGE_FULL_RETRY_AFTER_SECONDS
    return response


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)
