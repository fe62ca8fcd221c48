from . import services


class KeyScopeMiddleware:
    """Each request reads a patient's key row once, however many fields it decrypts."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with services.key_scope():
            return self.get_response(request)
