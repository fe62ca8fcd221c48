"""Benchmark of the medical record's documents. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/espace_sante_bench \
        .venv/bin/python bench/record.py [--documents 1000000] [--ingest 200]

Without DATABASE_URL it uses a temporary SQLite file (the 1,000,000-row
listing figure is meant for PostgreSQL). The PostgreSQL database is created
if missing and emptied (migrations reset) at the start: never point this at
real data.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = Path(tempfile.mkdtemp(prefix="bench-record-"))
os.environ["ESPACE_SANTE_VAR_DIR"] = str(VAR)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def prepare_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return "SQLite (fichier temporaire)"
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"PostgreSQL ({name})"


def pdf_of_size(size: int) -> bytes:
    """A valid PDF of about `size` bytes (one page, a large uncompressed stream)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    line = b"BT /F1 10 Tf 40 800 Td (Compte rendu d'examens biologiques) Tj ET\n"
    stream = DecodedStreamObject()
    stream.set_data(line * (size // len(line)))
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--ingest", type=int, default=200)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    engine = prepare_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from espace_sante.access.policy import SYSTEM, Actor, ActorKind
    from espace_sante.crypto import services as crypto
    from espace_sante.crypto import streams
    from espace_sante.identity import services as identity
    from espace_sante.identity.models import Person
    from espace_sante.record.documents import services
    from espace_sante.record.documents.models import Document

    print(f"Base : {engine} — machine : {os.cpu_count()} cœurs")
    patient = identity.create_person(
        ins_matricule="288033155512345",
        ins_system="1.2.250.1.213.1.4.11",
        birth_name="BANC",
        first_names="Marie",
        birth_date=date(1988, 3, 14),
        sex="F",
        birth_place_code="31555",
        department="31",
    )
    crypto.ensure_keys(patient)
    meta = dict(type_code="11502-2", source=Document.Source.PROFESSIONAL)

    # 1. Ingestion through the service layer, 200 KB PDFs.
    pdf = pdf_of_size(200 * 1024)
    start = time.perf_counter()
    for i in range(args.ingest):
        services.add_document(
            SYSTEM,
            patient,
            io.BytesIO(pdf),
            services.NewDocument(
                title=f"Bilan {i}", document_date=date(2020, 1, 1) + timedelta(days=i), **meta
            ),
        )
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(args.ingest):
        with tempfile.TemporaryFile() as sink:
            with streams.open_encrypting_stream(patient.id, uuid.uuid4(), sink) as stream:
                for offset in range(0, len(pdf), 64 * 1024):
                    stream.write(pdf[offset : offset + 64 * 1024])
    encrypting = time.perf_counter() - start
    print(f"\n1. Dépôt de {args.ingest} PDF de {len(pdf) // 1024} Ko par la couche service")
    print(
        f"   {args.ingest / elapsed:,.1f} documents/s ({elapsed / args.ingest * 1000:.1f} ms"
        " par document)"
    )
    print(f"   part du chiffrement du blob : {encrypting / elapsed:.0%}")

    # 2. Blob encryption speed against Tink's raw AEAD.
    import tink
    from tink import aead

    size = 20 * 1024 * 1024
    data = os.urandom(size)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as sink:
        with streams.open_encrypting_stream(patient.id, uuid.uuid4(), sink) as stream:
            for offset in range(0, size, 1024 * 1024):
                stream.write(data[offset : offset + 1024 * 1024])
    ours = size / (time.perf_counter() - start) / 1e6
    raw = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
    start = time.perf_counter()
    for offset in range(0, size, 1024 * 1024):
        raw.encrypt(data[offset : offset + 1024 * 1024], b"ad")
    tink_speed = size / (time.perf_counter() - start) / 1e6
    print("\n2. Chiffrement de blobs (20 Mo)")
    print(f"   espace-santé (StreamingAead, vers un fichier) : {ours:,.0f} Mo/s")
    print(f"   Tink AEAD brut (AES-256-GCM, 1 Mo en mémoire)  : {tink_speed:,.0f} Mo/s")

    # 3. Peak memory while storing a 20 MB upload.
    big = VAR / "gros.txt"
    line = b"Ligne de compte rendu d'imagerie, volumineux.\n"
    big.write_bytes(line * ((20 * 1000 * 1000) // len(line)))
    tracemalloc.start()
    with big.open("rb") as handle:
        services.add_document(
            SYSTEM, patient, handle, services.NewDocument(title="Gros document", **meta)
        )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\n3. Dépôt d'un fichier de {big.stat().st_size / 1e6:.0f} Mo")
    print(
        f"   pic d'allocations Python pendant le dépôt : {peak / 1e6:.1f} Mo (le fichier est lu"
        " et chiffré par morceaux ; Tink travaille par segments de 1 Mo)"
    )

    # 4. Listing the 20 newest documents of one patient, at two database sizes.
    titulaire = Actor(ActorKind.PATIENT, person_id=patient.id)

    def fill_to(total: int) -> None:
        missing = total - Document.objects.count()
        if missing <= 0:
            return
        per_patient = 200
        people = max(missing // per_patient, 1)
        first = Person.objects.count()
        Person.objects.bulk_create(
            [
                Person(
                    ins_matricule=f"{n:015d}",
                    ins_system="1.2.250.1.213.1.4.10",
                    birth_name="REMPLISSAGE",
                    first_names="X",
                    birth_date=date(1970, 1, 1),
                    sex="F",
                    birth_place_code="75056",
                    department="75",
                )
                for n in range(first, first + people)
            ],
            batch_size=5000,
        )
        ids = list(Person.objects.filter(birth_name="REMPLISSAGE").values_list("id", flat=True))
        ids = ids[-people:]
        rows, batch = 0, []
        now = time.strftime("%Y-%m-%d %H:%M:%S+00")
        for k in range(missing):
            pid = ids[k % len(ids)]
            batch.append(
                Document(
                    patient_id=pid,
                    type_code="11502-2",
                    class_code="10",
                    category="BIOLOGIE",
                    title_encrypted=os.urandom(48),
                    format_code="urn:ihe:iti:xds-sd:pdf:2008",
                    mime_type="application/pdf",
                    size=204800,
                    sha256="0" * 64,
                    blob_name=f"remplissage/{uuid.uuid4()}",
                    source="professional",
                    document_date="2020-01-01 00:00:00+00",
                    seen_by_patient_at=now,
                )
            )
            if len(batch) == 20000:
                Document.objects.bulk_create(batch)
                rows += len(batch)
                batch = []
                if sys.stdout.isatty():
                    print(f"   … {rows:,} documents ajoutés", end="\r", flush=True)
        if batch:
            Document.objects.bulk_create(batch)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def measure(label: str) -> tuple[float, float]:
        timings = []
        for _ in range(args.samples):
            with crypto.key_scope():  # as in a web request
                start = time.perf_counter()
                page = services.document_page(titulaire, patient.id, page=1, per_page=20)
                timings.append((time.perf_counter() - start) * 1000)
            assert len(page.items) == 20
        p50, p95 = statistics.median(timings), percentile(timings, 95)
        print(f"   {label:>12} documents en base : p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
        return p50, p95

    print(
        "\n4. Les 20 documents les plus récents d'un patient (page Documents, titres"
        " déchiffrés, audit compris)"
    )
    fill_to(10_000)
    measure(f"{Document.objects.count():,}")
    fill_to(args.documents)
    measure(f"{Document.objects.count():,}")


if __name__ == "__main__":
    main()
