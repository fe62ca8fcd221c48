"""What software declares about a document is checked, refused when wrong, never rewritten.

A title hiding characters (a NUL, a right-to-left override that turns « fdp.exe » into
what reads as « exe.pdf ») is refused; a date in the year 3000 is refused naming the
element that carries it; the care period sent in ``context.period`` is kept and given
back; ``_sort=date`` orders by the ``date`` each entry shows.
"""

import pytest

from .conftest import assert_outcome, document_reference


def _stored_documents(person) -> int:
    from espace_sante.record.documents.models import Document

    return Document.objects.filter(patient=person).count()


@pytest.mark.parametrize(
    ("description", "words"),
    [
        ("Compte rendu\u202efdp.exe", ("description", "inversion du sens", "U+202E")),
        ("Compte rendu\u0007", ("description", "caractère de contrôle", "U+0007")),
    ],
)
def test_a_description_hiding_characters_is_refused(gp_software, personas, description, words):
    before = _stored_documents(personas.mother)
    resource = document_reference(personas.mother, description=description)
    assert_outcome(gp_software.post("DocumentReference", resource), 422, *words)
    assert _stored_documents(personas.mother) == before


def test_an_attachment_title_with_an_override_is_refused(gp_software, personas):
    resource = document_reference(personas.mother)
    resource["content"][0]["attachment"]["title"] = "ordonnance\u202efdp.exe"
    response = gp_software.post("DocumentReference", resource)
    assert_outcome(response, 422, "content.attachment.title", "inversion du sens")


def test_a_nul_byte_in_a_description_stores_nothing(gp_software, personas):
    before = _stored_documents(personas.mother)
    resource = document_reference(personas.mother, description="Compte\u0000rendu")
    response = gp_software.post("DocumentReference", resource)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _stored_documents(personas.mother) == before


def _with(resource, path, value):
    target = resource
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    target[path[-1]] = value
    return resource


@pytest.mark.parametrize(
    ("path", "value", "element"),
    [
        (("date",), "3000-01-01T10:00:00+01:00", "date"),
        (("content", 0, "attachment", "creation"), "3000-01-01T10:00:00+01:00", "creation"),
        (("context", "period", "start"), "3000-01-01T10:00:00+01:00", "context.period.start"),
        (("context", "period", "end"), "3000-01-02T10:00:00+01:00", "context.period.end"),
        (("content", 0, "attachment", "creation"), "1850-06-01", "creation"),
    ],
)
def test_an_implausible_date_is_refused_naming_its_element(
    gp_software, personas, path, value, element
):
    before = _stored_documents(personas.mother)
    resource = _with(document_reference(personas.mother), path, value)
    response = gp_software.post("DocumentReference", resource)
    body = assert_outcome(response, 422, element)
    diagnostics = body["issue"][0]["diagnostics"]
    assert "dans le futur" in diagnostics or "antérieure à 1900" in diagnostics
    assert _stored_documents(personas.mother) == before


def test_a_period_ending_before_it_starts_is_refused(gp_software, personas):
    resource = document_reference(
        personas.mother,
        context={
            "period": {"start": "2026-10-03T09:00:00+02:00", "end": "2026-10-01T18:00:00+02:00"}
        },
    )
    assert_outcome(
        gp_software.post("DocumentReference", resource), 422, "context.period", "après la fin"
    )


def test_the_care_period_sent_is_kept_and_found(gp_software, personas):
    resource = document_reference(
        personas.mother,
        context={
            "period": {"start": "2026-10-01T09:00:00+02:00", "end": "2026-10-03T18:00:00+02:00"}
        },
    )
    created = gp_software.post("DocumentReference", resource)
    assert created.status_code == 201, created.text
    location = created.headers["Location"].split("/_history")[0]
    document_id = location.rstrip("/").rsplit("/", 1)[-1]
    read = gp_software.get(f"DocumentReference/{document_id}").json()
    period = read["context"]["period"]
    assert period["start"].startswith("2026-10-01T07:00:00") or period["start"].startswith(
        "2026-10-01T09:00:00+02:00"
    )
    assert period["end"].startswith("2026-10-03T16:00:00") or period["end"].startswith(
        "2026-10-03T18:00:00+02:00"
    )
    patient = {"patient.identifier": resource["subject"]["reference"].split("=", 1)[1]}
    inside = gp_software.get(
        "DocumentReference", {**patient, "status": "current", "period": "2026-10-02"}
    ).json()
    assert [entry["resource"]["id"] for entry in inside.get("entry", [])] == [document_id]
    outside = gp_software.get(
        "DocumentReference", {**patient, "status": "current", "period": "2026-09-15"}
    ).json()
    assert outside.get("entry", []) == []


def test_sorting_by_date_follows_the_date_each_entry_shows(gp_software, personas):
    # The act of the first is recent, the second's old: deposited in the other order.
    first = document_reference(personas.mother)
    first["content"][0]["attachment"]["creation"] = "2026-11-20T10:00:00+01:00"
    second = document_reference(personas.mother)
    second["content"][0]["attachment"]["creation"] = "2010-01-05T10:00:00+01:00"
    for resource in (first, second):
        assert gp_software.post("DocumentReference", resource).status_code == 201
    patient = first["subject"]["reference"].split("=", 1)[1]
    for sort, newest_first in (("-date", True), ("date", False)):
        bundle = gp_software.get(
            "DocumentReference",
            {"patient.identifier": patient, "status": "current", "_sort": sort},
        ).json()
        dates = [entry["resource"]["date"] for entry in bundle["entry"]]
        assert dates == sorted(dates, reverse=newest_first), (sort, dates)
        masters = [entry["resource"]["masterIdentifier"]["value"] for entry in bundle["entry"]]
        ours = [
            m
            for m in masters
            if m in (first["masterIdentifier"]["value"], second["masterIdentifier"]["value"])
        ]
        expected = [first["masterIdentifier"]["value"], second["masterIdentifier"]["value"]]
        assert ours == (expected[::-1] if newest_first else expected)
