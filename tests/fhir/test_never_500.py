"""Odd but plausible inputs from other people's software: a 4xx OperationOutcome, never a 500."""

import pytest

from .conftest import document_reference


def _mutations():
    def subject(value):
        return lambda r: r.__setitem__("subject", value)

    def attachment(**changes):
        def change(resource):
            resource["content"][0]["attachment"].update(changes)

        return change

    return {
        "no subject": lambda r: r.pop("subject"),
        "empty conditional reference": subject({"reference": "Patient?identifier="}),
        "identifier without system": subject({"reference": "Patient?identifier=|123"}),
        "reference to another type": subject({"reference": "Practitioner/1"}),
        "subject identifier only": subject(
            {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "abc"}}
        ),
        "no status": lambda r: r.pop("status"),
        "bad status": lambda r: r.__setitem__("status", "superseded"),
        "no type": lambda r: r.pop("type"),
        "type without coding": lambda r: r.__setitem__("type", {"text": "CR"}),
        "no content": lambda r: r.pop("content"),
        "two contents": lambda r: r.__setitem__("content", r["content"] * 2),
        "attachment null": lambda r: r["content"][0].__setitem__("attachment", None),
        "data not base64": attachment(data="%%%pas du base64%%%"),
        "empty data": attachment(data="", size=0, hash=None),
        "negative size": attachment(size=-4),
        "size as text": attachment(size="beaucoup"),
        "partial creation date": attachment(creation="2024"),
        "creation in the future": attachment(creation="2099-01-01T00:00:00Z"),
        "relatesTo without target": lambda r: r.__setitem__("relatesTo", [{"code": "replaces"}]),
        "relatesTo transforms": lambda r: r.__setitem__(
            "relatesTo", [{"code": "transforms", "target": {"reference": "DocumentReference/x"}}]
        ),
        "unknown security label": lambda r: r.__setitem__(
            "securityLabel", [{"coding": [{"code": "TOP_SECRET"}]}]
        ),
        "masterIdentifier huge": lambda r: r.__setitem__("masterIdentifier", {"value": "x" * 5000}),
        "unknown element": lambda r: r.__setitem__("couleur", "bleu"),
        "list instead of object": lambda r: r.clear(),
    }


MUTATIONS = _mutations()


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_odd_document_references(gp_software, personas, name):
    resource = document_reference(personas.mother)
    MUTATIONS[name](resource)
    response = gp_software.post("DocumentReference", resource)
    assert response.status_code < 500, (name, response.text)
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"
        assert response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "query",
    [
        {"patient": "pas-un-uuid", "status": "current"},
        {"patient.identifier": "sans-barre", "status": "current"},
        {"patient.identifier": "urn:oid:1.2.250.1.213.1.4.8|", "status": "current"},
        {"patient": "x", "status": "current", "_count": "-1"},
        {"patient": "x", "status": "current", "_sort": "title"},
        {"patient": "x", "status": "current", "period": "ge2024-13-45"},
        {"patient": "x", "status": "current", "relatesto": "DocumentReference/pas-un-uuid"},
        {"patient": "x", "status": "current", "identifier": "urn:uuid:pas-un-uuid"},
        {"patient": "x", "status": "current", "author.identifier": "|"},
        {"patient": "x", "status": ","},
    ],
)
def test_odd_searches(gp_software, personas, query):
    response = gp_software.get("DocumentReference", query)
    assert response.status_code < 500, (query, response.text)
    assert response.json()["resourceType"] in ("Bundle", "OperationOutcome")


@pytest.mark.parametrize(
    "bundle",
    [
        {"resourceType": "Bundle", "type": "transaction"},
        {"resourceType": "Bundle", "type": "transaction", "entry": []},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{}]},
        {"resourceType": "Bundle", "type": "transaction", "entry": ["texte"]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": None}]},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Binary", "contentType": "x", "data": "@@"},
                    "request": {"method": "POST", "url": "Binary"},
                }
            ],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "List", "status": "current", "mode": "working"},
                    "request": {"method": "POST", "url": "List"},
                }
            ],
        },
    ],
)
def test_odd_bundles(gp_software, personas, bundle):
    response = gp_software.post("", bundle)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
