"""Cost of checking hostile files, at sizes the test suite does not send.

    .venv/bin/python bench/hostile.py [--only TEXT]

Runs ``record.documents.uploads.inspect_upload`` (the check every upload door
calls) on generated files (tests/reliability/hostile_files.py) in a throwaway
instance, and prints per file: refused or accepted (and why), the time, and
the growth of the process's peak resident memory during the check (Linux:
VmHWM reset through /proc/self/clear_refs before each file). No assertion.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PATIENT_MAX = 5 * 1024 * 1024
PROFESSIONAL_MAX = 20 * 1024 * 1024


def _jpeg_photo(width: int, height: int) -> bytes:
    """A JPEG of noise (nothing compresses away), like a real photo's worth of blocks."""
    from PIL import Image

    image = Image.effect_noise((width, height), 8).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def cases():
    from tests.record.conftest import make_pdf
    from tests.reliability import hostile_files as hostile

    yield "PNG 13000×13000 (flood)", lambda: hostile.png(13000, 13000), PATIENT_MAX
    yield "PNG 60000×60000 (flood)", lambda: hostile.png(60000, 60000), PROFESSIONAL_MAX
    yield "JPEG declaring 65000×65000", lambda: hostile.jpeg_declaring(65000, 65000), PATIENT_MAX
    yield "TIFF declaring 100000×100000", lambda: hostile.tiff(100000, 100000), PATIENT_MAX
    yield "TIFF 2 pages 6000×6000", lambda: hostile.tiff(6000, 6000, pages=2), PATIENT_MAX
    yield "TIFF 999 pages 1×1", lambda: hostile.tiff(1, 1, pages=999), PATIENT_MAX
    yield "TIFF 160,000 pages 1×1", lambda: hostile.tiff(1, 1, pages=160_000), PROFESSIONAL_MAX
    yield "APNG 20 frames 2000×2000", lambda: hostile.png(2000, 2000, frames=20), PATIENT_MAX
    yield (
        "PNG 7000×7000 grey zeros (bomb, within the limit)",
        lambda: hostile.png(7000, 7000),
        PATIENT_MAX,
    )
    yield (
        "PNG 7000×7000 RGBA zeros (bomb, within the limit)",
        lambda: hostile.png(7000, 7000, color_type=6),
        PATIENT_MAX,
    )
    yield (
        "PNG 1000×1000 declared, 100 MB of rows",
        lambda: hostile.png(1000, 1000, rows=100_000),
        PATIENT_MAX,
    )
    yield (
        "TIFF 7000×7000 deflate strip (bomb)",
        lambda: hostile.tiff(7000, 7000, deflate=True),
        PATIENT_MAX,
    )
    yield "JPEG photo 8000×6000 (48 Mpx, real)", lambda: _jpeg_photo(8000, 6000), PROFESSIONAL_MAX
    yield "PDF object stream → 200 MB", lambda: hostile.pdf_object_stream_bomb(200), PATIENT_MAX
    yield (
        "PDF object stream → 5 GB",
        lambda: hostile.pdf_object_stream_bomb(5000),
        (PROFESSIONAL_MAX),
    )
    yield (
        "PDF page content → 5 GB (never inflated)",
        lambda: hostile.pdf_content_bomb(5000),
        (PROFESSIONAL_MAX),
    )
    yield "PDF with JavaScript", hostile.pdf_with_javascript, PATIENT_MAX
    yield (
        "PDF 100,000 objects in /PieceInfo (not walked)",
        lambda: hostile.pdf_with_many_objects(100_000, "/PieceInfo"),
        PROFESSIONAL_MAX,
    )
    yield (
        "PDF 100,000 objects under the catalog (walked)",
        lambda: hostile.pdf_with_many_objects(100_000),
        PROFESSIONAL_MAX,
    )
    yield "PDF 300 pages", lambda: make_pdf(pages=300), PATIENT_MAX
    yield "CDA billion laughs", lambda: hostile.BILLION_LAUGHS, PROFESSIONAL_MAX
    yield (
        "CDA nested 1,000,000 deep",
        lambda: hostile.deeply_nested_cda(1_000_000),
        (PROFESSIONAL_MAX),
    )


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _memory_mb(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(label: str, data: bytes, max_bytes: int) -> None:
    from django.conf import settings

    from espace_sante.record.documents.uploads import UploadRefused, inspect_upload

    _reset_peak()
    before = _memory_mb("VmRSS")
    start = time.perf_counter()
    try:
        inspected = inspect_upload(
            io.BytesIO(data), max_bytes=max_bytes, allowed_types=settings.RECORD_ALLOWED_TYPES
        )
    except UploadRefused as refusal:
        outcome = f"refusé ({refusal.code})"
    else:
        outcome = f"accepté ({inspected.mime_type})"
        inspected.cleanup()
    seconds = time.perf_counter() - start
    peak = _memory_mb("VmHWM") - before
    print(
        f"{label:<52} {len(data) / 1024:>9,.0f} ko  {outcome:<32} "
        f"{seconds * 1000:>8,.0f} ms  pic RSS +{peak:>6,.0f} Mo",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only the files whose label contains this")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # A throwaway instance: nothing under var/, whatever the environment says.
        os.environ["ESPACE_SANTE_VAR_DIR"] = tmp
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["DJANGO_SETTINGS_MODULE"] = "espace_sante.settings"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        (Path(tmp) / "tmp").mkdir(exist_ok=True)
        print(f"{'fichier':<52} {'taille':>12}  {'résultat':<32} {'temps':>11}  mémoire")
        for label, build, max_bytes in cases():
            if arguments.only and arguments.only.lower() not in label.lower():
                continue
            data = build()
            measure(label, data, max_bytes)
            del data


if __name__ == "__main__":
    main()
