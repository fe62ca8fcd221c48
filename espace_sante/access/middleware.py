"""Who asked, from where: the request id and client IP the audit trail records.

Kept in context variables for the duration of a request, so that
``audit.record`` finds them however deep in the services it is called,
without every service taking the request as an argument.
"""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .chain import normal_ip

_request_id: ContextVar[str] = ContextVar("espace_sante_request_id", default="")
_client_ip: ContextVar[str | None] = ContextVar("espace_sante_client_ip", default=None)

# A proxy's or load balancer's id is kept when it looks like one (letters,
# digits and a few separators); anything else is replaced, never stored.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@+=/-]{8,64}$")


def current_request_id() -> str:
    return _request_id.get()


def current_ip() -> str | None:
    return _client_ip.get()


def _ip_or_none(value: str) -> str | None:
    try:
        return normal_ip(value.strip())
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address our own proxy saw when TRUST_X_FORWARDED_FOR is on.

    The right-most address of X-Forwarded-For is the one the trusted proxy
    appended; those to its left come from the client and can be forged.
    """
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        if hops:
            found = _ip_or_none(hops[-1])
            if found:
                return found
    return _ip_or_none(request.META.get("REMOTE_ADDR", ""))


def request_id(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "").strip()
    return given if SANE_REQUEST_ID.match(given) else uuid.uuid4().hex


class RequestContextMiddleware:
    """Sets the request id (echoed in ``X-Request-ID``) and the client IP for the audit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Our own attribute on the request (views and logs read it): not in the stubs.
        request.request_id = request_id(request)  # type: ignore[attr-defined]
        id_token = _request_id.set(request.request_id)  # type: ignore[attr-defined]
        ip_token = _client_ip.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(id_token)
            _client_ip.reset(ip_token)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response
