"""Request bodies refused from their announced size, before anything is read.

Django spools a multipart upload to FILE_UPLOAD_TEMP_DIR as it reads it, and the
form's own size check runs only once the whole body is on disk: a 100 MB upload
took a web worker and the disk for nothing. Each part of the site accepts at most
what its largest legitimate form carries (settings.REQUEST_BODY_LIMITS); the FHIR
door applies its own limit and answers with an OperationOutcome.
"""

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string

MB = 1024 * 1024


def body_limit(path: str) -> int | None:
    """What the largest legitimate form of this part of the site carries, in bytes."""
    if path.startswith("/fhir/"):
        return None
    for prefix, limit in settings.REQUEST_BODY_LIMITS.items():
        if path.startswith(prefix):
            return limit
    return settings.REQUEST_BODY_DEFAULT_LIMIT


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request.path)
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            announced = 0
        if limit is not None and announced > limit + settings.REQUEST_BODY_MARGIN:
            page = render_to_string(
                "413.html",
                {"announced_mb": announced / MB, "limit_mb": limit / MB},
            )
            response = HttpResponse(page, status=413)
            # The rest of the body is never read: the connection cannot be reused.
            response["Connection"] = "close"
            return response
        return self.get_response(request)
