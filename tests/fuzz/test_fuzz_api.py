"""10,000 generated requests against the FHIR door and the JSON endpoints: no server error.

schemathesis draws requests from espace_sante/fhir/openapi.yaml (bodies and parameters that
fit it, and ones that do not; with and without credentials; aimed at a real patient and
document or at random ids) and every answer must be below 500, declared in the description,
of the declared media type and shaped as declared (an OperationOutcome for every error).

One test per operation, so pytest-xdist spreads them. The seed is fixed: a failure found
in CI is found again by the same command. ``FUZZ_REQUESTS`` and ``FUZZ_SEED`` change the
budget and the seed (bench/fuzz.py does, for longer runs).
"""

import os

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from .harness import Tally, cases, load_schema, operation, operation_labels, prepare, send

SCHEMA = load_schema()
LABELS = operation_labels(SCHEMA)
REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "10000"))
SEED = int(os.environ.get("FUZZ_SEED", "20261201"))


def _inputs(op) -> int:
    return len(op.path_parameters) + len(list(op.body)) + sum(q.name != "_format" for q in op.query)


# An operation without inputs (GET /healthz) runs out of distinct requests within a few dozen:
# the budget goes to the others.
WEIGHTS = {label: 1.0 if _inputs(operation(SCHEMA, label)) else 0.02 for label in LABELS}


def budget(op) -> int:
    return max(round(REQUESTS * WEIGHTS[op.label] / sum(WEIGHTS.values())), 1)


@pytest.fixture
def target(personas):
    from django.core.wsgi import get_wsgi_application

    from espace_sante.identity.models import Organization

    practice = Organization.objects.get(finess="310001235")
    return prepare(get_wsgi_application(), practice, personas.gp, personas.mother)


@pytest.mark.fuzz
@pytest.mark.parametrize("label", LABELS)
def test_no_generated_request_gets_a_server_error(transactional_db, target, record_property, label):
    op = operation(SCHEMA, label)
    tally = Tally()

    @seed(SEED)
    @settings(
        max_examples=budget(op),
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn=cases(op))
    def fuzz(drawn):
        case, authenticated, aimed = drawn
        send(case, authenticated, aimed, target, tally)

    try:
        fuzz()
    finally:
        # Gathered by tests/fuzz/summary.py into one line at the end of the run.
        record_property("fuzz", {"statuses": dict(tally.statuses), "seconds": tally.seconds})
