from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import services


class KeyScopeMiddleware:
    """Each request reads a patient's key row once, however many fields it decrypts."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with services.key_scope():
            return self.get_response(request)
