"""Any path under /fhir/R4/ is answered by the FHIR door, in JSON (found by the fuzzer)."""

from .conftest import assert_outcome


def test_a_path_holding_a_line_feed_is_a_fhir_not_found(gp_software):
    # Before: no FHIR route matched "\n", and the site's HTML 404 page answered.
    for path in ["DocumentReference/abc%0A", "DocumentReference/%08l%0A", "%0A", "Patient/%0D%0A"]:
        assert_outcome(gp_software.get(path), 404, "Aucune ressource")
