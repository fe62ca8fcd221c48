import io

import pytest
from pypdf import PdfWriter


def make_pdf(text: str = "Compte rendu", pages: int = 1) -> bytes:
    """A small valid PDF (blank pages; pypdf cannot write text without a font)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def blob_dir(private_keys_and_blobs):
    """The blob directory of this test, to scan and tamper with."""
    return private_keys_and_blobs
