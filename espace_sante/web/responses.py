"""The one response that sends decrypted health bytes to a browser or a client.

Used by the documents pages, the professional portal, messaging downloads and
FHIR ``Binary``, so every door sends decrypted bytes with the same headers:
never cached, never sniffed, and (for browsers) sandboxed so that a document
cannot run scripts in our origin.
"""

from collections.abc import Iterable
from urllib.parse import quote

from django.http import StreamingHttpResponse

# A document opened in the browser may show its own images, nothing else, and runs nothing.
SANDBOX = "default-src 'none'; img-src 'self'; sandbox"


def decrypted_response(
    chunks: Iterable[bytes],
    *,
    content_type: str,
    size: int,
    disposition: str = "inline",
    filename: str = "",
    sandbox: bool = True,
) -> StreamingHttpResponse:
    """Stream ``chunks`` (the decrypted bytes) with the headers decrypted health data needs.

    ``disposition``: ``inline`` (shown) or ``attachment`` (downloaded);
    ``filename`` is sent in RFC 5987 form (UTF-8, percent-encoded) when given.
    ``sandbox=False`` leaves out the Content-Security-Policy, for API clients
    that are not browsers (FHIR ``Binary`` answers as it always has).
    """
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = (
        f"{disposition}; filename*=UTF-8''{quote(filename)}" if filename else disposition
    )
    response["Content-Length"] = str(size)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if sandbox:
        response["Content-Security-Policy"] = SANDBOX
    return response
