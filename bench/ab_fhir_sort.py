"""A/B of the FHIR search's order: by the act's date (before) or by ``date``, the deposit (after).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/espace_sante_bench \
        .venv/bin/python bench/ab_fhir_sort.py [--searches 500] [--rounds 3]

The W2 query of bench/fhir.py (``patient``, ``status=current``, 20 newest, and the total)
over the same 20,000 documents and 100 patients, as the médecin traitant sees them through
the policy: both orders in one process, interleaved. Prints the best time per search of
each, the ratio after/before and each plan. The database is dropped and recreated.
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fhir as bench_fhir  # noqa: E402  (bench/fhir.py: the W2 data)

ORDERS = {
    "avant (-document_date, -created_at)": ("-document_date", "-created_at"),
    "après (-created_at, -id)": ("-created_at", "-id"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    engine = bench_fhir.prepare_database()
    _client, _key, gp, _practice, patients = bench_fhir.setup_data()
    from django.db import connection

    from espace_sante.access import policy
    from espace_sante.access.policy import actor_for_user
    from espace_sante.record.documents.models import Document

    with connection.cursor() as cursor:  # deposits an hour apart, as the acts are
        cursor.execute("UPDATE record_document SET created_at = document_date + interval '1 day'")
        cursor.execute("ANALYZE record_document")
    actor = actor_for_user(gp.user)
    rng = random.Random(16)
    chosen = [rng.choice(patients).id for _ in range(args.searches)]

    def query(patient_id, order):
        documents = policy.visible_documents(actor, patient_id, Document.objects.all())
        return documents.filter(status=Document.Status.CURRENT).order_by(*order)

    def timed(order) -> float:
        started = time.perf_counter()
        for patient_id in chosen:
            queryset = query(patient_id, order)
            queryset.count()
            list(queryset[:20])
        return (time.perf_counter() - started) / len(chosen)

    best = dict.fromkeys(ORDERS, float("inf"))
    for _ in range(args.rounds):
        for label, order in ORDERS.items():
            best[label] = min(best[label], timed(order))
    print(f"Base : {engine} ; {len(chosen)} recherches × {args.rounds} tours, meilleur tour")
    for label, seconds in best.items():
        print(f"  {label} : {seconds * 1000:.2f} ms par recherche")
    before, after = best.values()
    print(f"  rapport après/avant : {after / before:.2f}")
    for label, order in ORDERS.items():
        print(f"Plan {label} :")
        print("   " + query(chosen[0], order)[:20].explain().replace("\n", "\n   "))


if __name__ == "__main__":
    main()
