"""A/B of the upload check (``inspect_upload``): a git revision's against the working tree's.

    .venv/bin/python bench/ab_upload_check.py [--rev 4d4be4f] [--rounds 3]

Both versions run in one process, interleaved, on the same PDF and JPEG; prints the
best time of each and the ratio after/before. The check runs on every document pushed
(FHIR W1 included), so a change to ``uploads.py`` is measured here.
"""

import argparse
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")


def load_revision(rev: str):
    source = subprocess.run(  # noqa: S603  (git, with the revision the person asked for)
        ["git", "show", f"{rev}:espace_sante/record/documents/uploads.py"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace(
        "from .reference import", "from espace_sante.record.documents.reference import"
    )
    path = Path(tempfile.mkdtemp()) / "uploads_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("uploads_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_call_ms(module, data: bytes, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        upload = io.BytesIO(data)
        upload.name = "document"
        module.inspect_upload(upload, max_bytes=20_000_000).cleanup()
    return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="4d4be4f", help="the revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from PIL import Image

    from espace_sante.record.documents import uploads as after
    from tests.record.conftest import make_pdf

    before = load_revision(args.rev)
    photo = io.BytesIO()
    Image.new("RGB", (1200, 1600), (200, 10, 10)).save(photo, "JPEG")
    samples = [
        ("PDF, 20 pages", make_pdf(pages=20), 300),
        ("JPEG 1200×1600", photo.getvalue(), 100),
    ]
    for label, data, calls in samples:
        old, new = [], []
        for _ in range(args.rounds):
            old.append(per_call_ms(before, data, calls))
            new.append(per_call_ms(after, data, calls))
        print(
            f"{label} ({len(data)} octets) : avant ({args.rev}) {min(old):.2f} ms, "
            f"après {min(new):.2f} ms, ratio après/avant {min(new) / min(old):.2f}"
        )


if __name__ == "__main__":
    main()
