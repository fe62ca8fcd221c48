"""Benchmark of the FHIR API as professional software sees it. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/espace_sante_bench \
        .venv/bin/python bench/fhir.py [--workers 4] [--threads 1] [--worker-class sync|gthread]
        [--concurrency 8]

Runs the service as in production (gunicorn sync workers, as ``espace-sante serve``, PostgreSQL,
DEBUG off) on a throwaway instance (temporary ESPACE_SANTE_VAR_DIR); the
database named in DATABASE_URL is dropped and recreated: never point this at
real data. Then, over HTTP with ``concurrency`` client threads:

- W1 ``POST DocumentReference`` with a 20 KB PDF (documents/s, p50, p95);
- W2 ``GET DocumentReference?patient=…&status=current&_count=20`` with 20,000
  documents over 100 patients (searches/s, p50, p95);
- W3 ``GET Patient/{id}`` (reads/s, p50, p95);
- the server's peak RSS (master + workers, from /proc VmHWM).

Every request carries a fresh acting-professional assertion (signed before the
timed loop, so the client's signing does not compete with the server) and every
access is audited, as in production.
"""

import argparse
import base64
import hashlib
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = Path(tempfile.mkdtemp(prefix="bench-fhir-"))
os.environ["ESPACE_SANTE_VAR_DIR"] = str(VAR)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/espace_sante_bench")

PATIENTS = 100
DOCUMENTS = 20_000


def prepare_database() -> str:
    url = os.environ["DATABASE_URL"]
    if not url.startswith(("postgres://", "postgresql://")):
        return "SQLite (fichier temporaire) — les chiffres visés sont pour PostgreSQL"
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"PostgreSQL ({name})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pdf_of_size(size: int) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    line = b"BT /F1 10 Tf 40 800 Td (Compte rendu de consultation) Tj ET\n"
    stream = DecodedStreamObject()
    stream.set_data(line * (size // len(line)))
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def push_body(patient_id, pdf: bytes, data: str, digest: str) -> dict:
    """The W1 request: a consultation report (``data`` base64, ``digest`` SHA-1 base64)."""
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "masterIdentifier": {"value": f"urn:uuid:{uuid.uuid4()}"},
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "description": "Compte rendu de consultation",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": data,
                    "size": len(pdf),
                    "hash": digest,
                }
            }
        ],
    }


def setup_data():
    """Demo directory, 100 patients followed by Dr Martin, 20,000 documents, one client."""
    import django

    django.setup()
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.core.management import call_command
    from stdnum.fr import nir

    from espace_sante.crypto import services as crypto
    from espace_sante.demo.people import load_demo
    from espace_sante.fhir.services import register_software
    from espace_sante.identity import services as identity
    from espace_sante.identity.models import Organization, Professional
    from espace_sante.identity.reference import INS_DEMO_NIR
    from espace_sante.record.documents import services as record
    from espace_sante.record.documents.models import Document

    call_command("migrate", verbosity=0)
    load_demo(with_documents=False, with_profile=False)
    gp = Professional.objects.get(rpps="10001234565")
    practice = Organization.objects.get(finess="310001235")
    patients = []
    for i in range(PATIENTS):
        number = f"2880331555{i + 500:03d}"
        person = identity.create_person(
            ins_matricule=number + nir.calc_check_digits(number),
            ins_system=INS_DEMO_NIR,
            birth_name=f"BANC{i}",
            first_names="Essai",
            birth_date=date(1988, 3, 14),
            sex="F",
            birth_place_code="31555",
            department="31",
            medecin_traitant=gp,
        )
        crypto.ensure_keys(person)
        patients.append(person)
    # Rows only (their blobs are never read by a search): titles encrypted per row.
    start = datetime(2010, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(DOCUMENTS):
        person = patients[n % PATIENTS]
        doc_id = uuid.uuid4()
        rows.append(
            Document(
                id=doc_id,
                patient=person,
                type_code="11488-4",
                class_code="10",
                category="CPT_REND",
                title_encrypted=crypto.encrypt_text(
                    person.id, doc_id, f"Compte rendu {n}", purpose=record.TITLE
                ),
                format_code="urn:ihe:iti:xds-sd:pdf:2008",
                mime_type="application/pdf",
                size=20_000,
                sha256="0" * 64,
                blob_name=f"patients/{person.id}/{doc_id}.bin",
                source=Document.Source.PROFESSIONAL,
                author_professional=gp,
                author_organization=practice,
                document_date=start + timedelta(hours=n),
            )
        )
    Document.objects.bulk_create(rows, batch_size=2000)
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    client = register_software(
        practice, "Banc d'essai", {"keys": [{**public, "kid": "bench", "alg": "ES256"}]}
    )
    return client.application.client_id, key, gp, practice, patients


def start_server(port: int, workers: int, threads: int, worker_class: str) -> subprocess.Popen:
    env = dict(os.environ, SITE_URL=f"http://127.0.0.1:{port}", DEBUG="false")
    process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "espace_sante.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("Le serveur n'a pas démarré.")


def peak_rss_mb(master_pid: int) -> tuple[float, float]:
    """(sum, largest) VmHWM of the master and its workers, in MB."""
    pids = [master_pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().split()
            except OSError:
                continue
            if int(stat[3]) == master_pid:
                pids.append(int(entry.name))
    values = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    values.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return sum(values), max(values, default=0.0)


def run(label, requests_, concurrency, call):
    """Run ``call(request)`` over ``requests_`` with ``concurrency`` threads; print figures."""
    import requests

    latencies, errors = [], []
    lock = threading.Lock()
    queue = list(enumerate(requests_))
    sessions = [requests.Session() for _ in range(concurrency)]

    def worker(session):
        while True:
            with lock:
                if not queue:
                    return
                _, item = queue.pop()
            began = time.perf_counter()
            status = call(session, item)
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if status >= 400:
                    errors.append(status)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * (len(latencies) - 1)))]
    p50 = statistics.median(latencies)
    print(
        f"{label}: {len(latencies) / elapsed:,.0f}/s — p50 {p50 * 1000:.1f}"
        f" ms, p95 {p95 * 1000:.1f} ms ({len(latencies)} requêtes, {len(errors)} erreurs"
        f"{' : ' + str(sorted(set(errors))) if errors else ''})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    # Sync workers, as `espace-sante serve` runs them: on 2 cores, 4 sync workers served
    # W1 twice as fast as 4 gthread workers × 2 threads (the threads fight for the GIL).
    parser.add_argument("--worker-class", default="sync", choices=["gthread", "sync"])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pushes", type=int, default=600)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args()

    engine = prepare_database()
    began = time.perf_counter()
    client_id, key, gp, practice, patients = setup_data()
    print(f"Base : {engine} — machine : {os.cpu_count()} cœurs")
    print(
        f"Données : {PATIENTS} patients, {DOCUMENTS:,} documents "
        f"(préparées en {time.perf_counter() - began:.0f} s)"
    )
    import jwt
    import requests

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fhir = f"{base}/fhir/R4"
    server = start_server(port, args.workers, args.threads, args.worker_class)
    try:
        now = int(time.time())
        token = requests.post(
            f"{base}/o/token/",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": jwt.encode(
                    {
                        "iss": client_id,
                        "sub": client_id,
                        "aud": f"{base}/o/token/",
                        "iat": now,
                        "exp": now + 60,
                        "jti": str(uuid.uuid4()),
                    },
                    key,
                    algorithm="ES256",
                    headers={"kid": "bench"},
                ),
            },
            timeout=30,
        ).json()["access_token"]

        def assertions(count):
            issued = int(time.time())
            return [
                jwt.encode(
                    {
                        "iss": client_id,
                        "aud": fhir,
                        "sub": gp.rpps,
                        "profession": gp.profession,
                        "organization": practice.finess,
                        "iat": issued,
                        "exp": issued + 290,
                        "jti": str(uuid.uuid4()),
                    },
                    key,
                    algorithm="ES256",
                    headers={"kid": "bench"},
                )
                for _ in range(count)
            ]

        def headers(assertion, **extra):
            return {
                "Authorization": f"Bearer {token}",
                "X-Acting-Professional": assertion,
                "Accept": "application/fhir+json",
                **extra,
            }

        print(
            f"Serveur : gunicorn {args.worker_class}, {args.workers} workers × {args.threads} "
            "threads ; "
            f"clients : {args.concurrency} en parallèle\n"
        )
        pdf = pdf_of_size(20 * 1024)
        data = base64.b64encode(pdf).decode()
        digest = base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324 - MHD
        import json

        bodies = [
            json.dumps(push_body(patients[i % PATIENTS].id, pdf, data, digest))
            for i in range(args.pushes)
        ]
        work = list(zip(bodies, assertions(args.pushes), strict=True))
        run(
            f"W1 POST DocumentReference (PDF de {len(pdf) // 1024} Ko)",
            work,
            args.concurrency,
            lambda s, item: (
                s.post(
                    f"{fhir}/DocumentReference",
                    data=item[0],
                    headers=headers(
                        item[1],
                        **{"Content-Type": "application/fhir+json", "Prefer": "return=minimal"},
                    ),
                    timeout=60,
                ).status_code
            ),
        )
        work = [(patients[i % PATIENTS].id, a) for i, a in enumerate(assertions(args.searches))]
        run(
            "W2 GET DocumentReference?patient=…&status=current&_count=20",
            work,
            args.concurrency,
            lambda s, item: (
                s.get(
                    f"{fhir}/DocumentReference",
                    params={"patient": str(item[0]), "status": "current", "_count": "20"},
                    headers=headers(item[1]),
                    timeout=60,
                ).status_code
            ),
        )
        work = [(patients[i % PATIENTS].id, a) for i, a in enumerate(assertions(args.reads))]
        run(
            "W3 GET Patient/{id}",
            work,
            args.concurrency,
            lambda s, item: (
                s.get(f"{fhir}/Patient/{item[0]}", headers=headers(item[1]), timeout=60).status_code
            ),
        )
        total, largest = peak_rss_mb(server.pid)
        print(
            f"\nMémoire du serveur (pic) : {total:.0f} Mo au total, {largest:.0f} Mo pour le "
            "plus gros processus"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
