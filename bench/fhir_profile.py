"""Where one FHIR request spends its time: queries per request and a profile, in one process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/espace_sante_bench \
        .venv/bin/python bench/fhir_profile.py [--documents 2000] [--requests 200] [--sql]

Same data and requests as ``bench/fhir.py`` (W1 push of a 20 KB PDF, W2 search
of 20 documents, W3 ``Patient/{id}``), sent through Django's test client
instead of HTTP, so the figures are the server's own work: the SQL queries of
one request (``--sql`` prints them), then ``cProfile`` over ``--requests``
requests (the functions that cost the most, by own time and by cumulative
time). The database named in DATABASE_URL is dropped and recreated.
"""

import argparse
import base64
import cProfile
import hashlib
import importlib.util
import json
import pstats
import sys
import time
import uuid
from pathlib import Path

# This script's folder holds fhir.py, which would hide the fhir.resources package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
# bench/fhir.py sets up the environment and the data; loaded under another name.
_spec = importlib.util.spec_from_file_location("bench_fhir", Path(__file__).with_name("fhir.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    bench.DOCUMENTS = args.documents
    engine = bench.prepare_database()
    client_id, key, gp, practice, patients = bench.setup_data()
    import jwt
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    host = "127.0.0.1"
    web = Client(HTTP_HOST=host)
    fhir = f"http://{host}/fhir/R4"
    now = int(time.time())
    token = web.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode(
                {
                    "iss": client_id,
                    "sub": client_id,
                    "aud": f"http://{host}/o/token/",
                    "iat": now,
                    "exp": now + 60,
                    "jti": str(uuid.uuid4()),
                },
                key,
                algorithm="ES256",
                headers={"kid": "bench"},
            ),
        },
    ).json()["access_token"]

    def headers() -> dict:
        issued = int(time.time())
        acting = jwt.encode(
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
        return {
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_X_ACTING_PROFESSIONAL": acting,
            "HTTP_ACCEPT": "application/fhir+json",
        }

    pdf = bench.pdf_of_size(20 * 1024)
    data = base64.b64encode(pdf).decode()
    digest = base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324 - MHD

    def push(i: int):
        body = bench.push_body(patients[i % len(patients)].id, pdf, data, digest)
        return web.post(
            "/fhir/R4/DocumentReference",
            json.dumps(body),
            content_type="application/fhir+json",
            HTTP_PREFER="return=minimal",
            **headers(),
        )

    def search(i: int):
        return web.get(
            "/fhir/R4/DocumentReference",
            {"patient": str(patients[i % len(patients)].id), "status": "current", "_count": "20"},
            **headers(),
        )

    def read(i: int):
        return web.get(f"/fhir/R4/Patient/{patients[i % len(patients)].id}", **headers())

    print(f"Base : {engine} — {len(patients)} patients, {args.documents:,} documents\n")
    for label, call, expected in (
        ("W1 POST DocumentReference", push, 201),
        ("W2 GET DocumentReference?patient=…&status=current&_count=20", search, 200),
        ("W3 GET Patient/{id}", read, 200),
    ):
        # Warm up the code paths and each patient's keys (as a running server has).
        for i in range(len(patients)):
            assert call(i).status_code == expected
        with CaptureQueriesContext(connection) as queries:
            response = call(7)
        assert response.status_code == expected, response.content
        print(f"== {label}: {len(queries)} requêtes SQL pour une requête HTTP")
        if args.sql:
            for n, query in enumerate(queries.captured_queries, 1):
                print(f"  {n:2}. {query['sql'][:220]}")
        profile = cProfile.Profile()
        began = time.perf_counter()
        profile.enable()
        for i in range(args.requests):
            call(i)
        profile.disable()
        took = time.perf_counter() - began
        print(
            f"   {args.requests} requêtes en {took:.2f} s : {took / args.requests * 1000:.1f} ms "
            "par requête (un seul processus, profilage compris)"
        )
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        # Our own code and the libraries it calls, by cumulative time.
        stats.sort_stats("cumulative").print_stats(
            r"espace_sante/|oauth2_backends|jwt/api_j|psycopg/cursor", args.top
        )


if __name__ == "__main__":
    main()
