"""Door helpers: who acts in a web request, whose space a page shows, decrypted bytes out.

Every web door (citizen pages, the professional portal, messaging, pharmacy)
builds its actor here, so the acting professional's organisation and the
space shown are chosen the same way everywhere. Deciding stays the policy's
(through ``access.guard``); these helpers only name who and whose.
"""

import uuid
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, cast
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.cache import never_cache

from espace_sante.identity.models import Person, Professional, Role

from .policy import Actor, ActorKind, NotAllowed, actor_for_user, patient_side_mode

# The organisation a professional chose to act for, kept in their session.
SESSION_ORGANIZATION = "portal_organization_id"

# Seconds a client should wait before trying again while the database is away.
RETRY_AFTER_SECONDS = "30"
UNAVAILABLE_TEXT = (
    "Le service est momentanément indisponible (base de données injoignable) : "
    "rien n'a été traité. Réessayez dans quelques instants."
)

# A full blob store (disk or quota): nothing was stored, the person's input is kept.
STORAGE_FULL_TEXT = (
    "Le service ne peut pas enregistrer de fichier pour le moment (espace de stockage "
    "plein). Rien n'a été enregistré : réessayez plus tard."
)
# Freeing or adding space takes an operator longer than a database restart.
STORAGE_FULL_RETRY_AFTER_SECONDS = "300"


def database_unreachable(error: BaseException | None) -> bool:
    """The error, or one it arose from (a session store failing after it), is a lost database.

    Such a request answers 503 with Retry-After, not 500: nothing is wrong with
    what the person sent.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (OperationalError, InterfaceError)):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def citizen_actor(request: HttpRequest) -> Actor | None:
    """Who acts at a citizen's door: the signed-in citizen (for themselves or a space they reach).

    A professional is sent away (404) before anything is looked up: their access
    goes through the portal, where the policy decides with their organisation.
    An operator goes on, for the policy to refuse and the trail to name them.
    """
    actor = actor_for_user(request.user)
    if actor is not None and actor.kind not in (ActorKind.PATIENT, ActorKind.OPERATOR):
        raise Http404
    return actor


def professional_of(request: HttpRequest) -> Professional:
    """The signed-in professional; 404 for anyone else."""
    professional: Professional | None = getattr(request.user, "professional", None)
    if professional is None:
        raise Http404
    return professional


def active_roles(professional: Professional) -> list[Role]:
    """The organisations the professional works for today."""
    today = timezone.localdate()
    return [
        role
        for role in professional.roles.select_related("organization").filter(end_date=None)
        if role.is_active_on(today)
    ]


def acting_professional(request: HttpRequest) -> Actor:
    """The professional acting for the organisation chosen in this session.

    With one organisation it is chosen for them; an organisation they no
    longer work for is forgotten.
    """
    roles = active_roles(professional_of(request))
    chosen = request.session.get(SESSION_ORGANIZATION)
    if chosen is None and len(roles) == 1:
        chosen = str(roles[0].organization_id)
        request.session[SESSION_ORGANIZATION] = chosen
    if chosen and not any(str(r.organization_id) == chosen for r in roles):
        chosen = None
    # A signed-in professional's account always yields an actor.
    return cast(Actor, actor_for_user(request.user, organization_id=chosen))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# The patients a professional found by their INS and traits in this session (it
# ends after 15 minutes without activity): the portal's pages may name them.
FOUND_KEY = "portal_found_patients"


def remember_found(request: HttpRequest, person: Person) -> None:
    found = [pid for pid in request.session.get(FOUND_KEY, []) if pid != str(person.id)]
    request.session[FOUND_KEY] = [*found[-49:], str(person.id)]


def found_by_traits(request: HttpRequest, person: Person) -> bool:
    return str(person.id) in request.session.get(FOUND_KEY, [])


def space_shown(request: HttpRequest) -> Person:
    """The space a citizen's page shows: their own, or ``?espace=<uuid>`` of a child or aidé.

    The policy decides whether the signed-in citizen reaches that space; a
    space they do not reach looks like one that does not exist (404).
    """
    person: Person | None = getattr(request.user, "person", None)
    if person is None:
        raise Http404
    wanted = request.GET.get("espace") or request.POST.get("espace")
    if not wanted or wanted == str(person.id):
        return person
    other = Person.objects.filter(pk=wanted).first() if _is_uuid(wanted) else None
    if other is None or patient_side_mode(citizen_actor(request), other.id) is None:
        raise Http404
    return other


def patient_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in only, never cached, the patient named by the URL, a refusal answered by 404.

    The view is called as ``view(request, actor, patient, ...)``.
    """

    @login_required
    @never_cache
    @wraps(view)
    def wrapper(
        request: HttpRequest, patient_id: uuid.UUID | str, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        patient = (
            Person.objects.filter(pk=patient_id).first() if _is_uuid(str(patient_id)) else None
        )
        if patient is None:
            raise Http404
        try:
            # Whoever signed in: the services of these pages (the profile) are the
            # patient side's only, and refuse and trace anyone else themselves.
            response = view(request, actor_for_user(request.user), patient, *args, **kwargs)
        except NotAllowed:
            raise Http404 from None
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


# --- Decrypted health bytes out ----------------------------------------------------
#
# One response for the documents pages, the portal, messaging downloads and
# FHIR ``Binary``: never cached, never sniffed, and (for browsers) sandboxed so
# that a document cannot run scripts in our origin.

# A document opened in the browser may show its own images, nothing else, and runs nothing.
SANDBOX = "default-src 'none'; img-src 'self'; sandbox"


def decrypted_response(
    chunks: Iterable[bytes],
    *,
    content_type: str,
    size: int,
    disposition: str = "inline",
    filename: str = "",
) -> StreamingHttpResponse:
    """Stream ``chunks`` (the decrypted bytes) with the headers decrypted health data needs.

    ``disposition``: ``inline`` (shown) or ``attachment`` (downloaded);
    ``filename`` is sent in RFC 5987 form (UTF-8, percent-encoded) when given.
    The sandbox policy goes with every answer, API ones included: software
    ignores it, and a browser that opens the same URL (a patient's app, a
    link followed with a token) must not run what a document carries.
    """
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = (
        f"{disposition}; filename*=UTF-8''{quote(filename)}" if filename else disposition
    )
    response["Content-Length"] = str(size)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    return response
