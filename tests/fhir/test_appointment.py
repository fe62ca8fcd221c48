"""The agenda through FHIR ``Appointment``: software books, reads, finds and cancels.

Raw HTTP against the live server, as outside software would; what the patient
sees is checked through the same services her agenda page uses.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from .conftest import assert_outcome, ins_of
from .test_audit_events import citizen_token

PARIS = ZoneInfo("Europe/Paris")
TIMEZONE_URL = "http://hl7.org/fhir/StructureDefinition/timezone"


def next_month(hour=10, minute=30, zone=PARIS) -> datetime:
    day = datetime.now(zone).date() + timedelta(days=30)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def appointment(person, start=None, minutes=30, **extra) -> dict:
    start = start or next_month()
    resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Renouvellement du traitement de la thyroïde",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "participant": [
            {
                "actor": {"reference": f"Patient?identifier={ins_of(person)}"},
                "status": "accepted",
            },
            {
                "actor": {"type": "Practitioner", "display": "Dr Sophie Martin"},
                "status": "accepted",
            },
            {
                "actor": {"type": "Location", "display": "Cabinet du Dr Martin, Toulouse"},
                "status": "accepted",
            },
        ],
    }
    resource.update(extra)
    return resource


def put(software, path, body, headers=None, **overrides) -> requests.Response:
    return requests.put(
        f"{software.fhir}/{path}",
        json=body,
        headers={
            **software.headers(**overrides),
            "Content-Type": "application/fhir+json",
            **(headers or {}),
        },
        timeout=30,
    )


def patch(software, path, operations, headers=None) -> requests.Response:
    return requests.patch(
        f"{software.fhir}/{path}",
        json=operations,
        headers={
            **software.headers(),
            "Content-Type": "application/json-patch+json",
            **(headers or {}),
        },
        timeout=30,
    )


def trail(person) -> list[tuple[str, str, str]]:
    from espace_sante.access.models import AuditEntry

    return list(
        AuditEntry.objects.filter(patient_id=person.id, object_type="agenda:appointment")
        .order_by("sequence")
        .values_list("action", "outcome", "acting_for")
    )


def as_patient(person):
    from espace_sante.access.policy import actor_for_user

    return actor_for_user(person.user)


def test_software_books_reads_finds_and_cancels_and_the_patient_sees_it(gp_software, personas):
    from espace_sante.agenda import services as agenda

    start = next_month()
    created = gp_software.post("Appointment", appointment(personas.mother, start))
    assert created.status_code == 201, created.text
    body = created.json()
    FhirAppointment.model_validate(body)
    assert created.headers["Location"].endswith(f"/Appointment/{body['id']}/_history/1")
    assert created.headers["ETag"] == 'W/"1"'
    assert body["meta"]["versionId"] == "1"
    assert body["start"] == start.isoformat()
    assert body["minutesDuration"] == 30
    assert body["description"] == "Renouvellement du traitement de la thyroïde"
    assert body["participant"][0]["actor"]["reference"] == f"Patient/{personas.mother.id}"

    read = gp_software.get(f"Appointment/{body['id']}")
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == 'W/"1"'
    assert read.json()["meta"]["lastUpdated"]
    assert read.json()["extension"] == [{"url": TIMEZONE_URL, "valueCode": "Europe/Paris"}]
    FhirAppointment.model_validate(read.json())
    version = gp_software.get(f"Appointment/{body['id']}/_history/1")
    assert version.status_code == 200, version.text

    day = start.date()
    found = gp_software.get(
        "Appointment",
        [
            ("patient.identifier", ins_of(personas.mother)),
            ("date", f"ge{day.isoformat()}"),
            ("date", f"lt{(day + timedelta(days=1)).isoformat()}"),
            ("status", "booked"),
        ],
    )
    assert found.status_code == 200, found.text
    bundle = Bundle.model_validate(found.json())
    assert bundle.type == "searchset" and bundle.total == 1
    assert bundle.entry[0].resource.id == body["id"]
    later = gp_software.get(
        "Appointment",
        {"patient": str(personas.mother.id), "date": f"ge{(day + timedelta(days=1)).isoformat()}"},
    )
    assert later.json()["total"] == 0

    # The patient's agenda: the same appointment, said to come from her doctor.
    [seen] = agenda.list_appointments(as_patient(personas.mother), personas.mother)
    assert str(seen.id) == body["id"]
    assert agenda.added_by(seen) == f"ajouté par {personas.gp.display_name}"
    assert agenda.local_start(seen) == start
    assert seen.place == "Cabinet du Dr Martin, Toulouse"
    assert seen.with_whom == "Dr Sophie Martin"

    cancelled = put(
        gp_software,
        f"Appointment/{body['id']}",
        {**read.json(), "status": "cancelled"},
        headers={"If-Match": 'W/"1"'},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.headers["ETag"] == 'W/"2"'
    [seen] = agenda.list_appointments(as_patient(personas.mother), personas.mother)
    assert seen.status == "cancelled"
    booked_only = gp_software.get(
        "Appointment", {"patient": str(personas.mother.id), "status": "booked"}
    )
    assert booked_only.json()["total"] == 0

    # Create, read, search and cancel are in her trail, naming the software.
    by_software = {
        (action, outcome)
        for action, outcome, acting in trail(personas.mother)
        if acting == gp_software.client_id
    }
    assert by_software >= {
        ("create", "allowed"),
        ("read", "allowed"),
        ("list", "allowed"),
        ("update", "allowed"),
    }


def test_prefer_minimal_answers_an_empty_201_with_its_location(gp_software, personas):
    created = gp_software.post(
        "Appointment", appointment(personas.mother), headers={"Prefer": "return=minimal"}
    )
    assert created.status_code == 201, created.text
    assert created.content == b""
    assert "/Appointment/" in created.headers["Location"]
    assert created.headers["Location"].endswith("/_history/1")


def test_a_professional_without_relation_is_refused_and_traced(hospital_software, personas):
    refused = hospital_software.post("Appointment", appointment(personas.mother))
    body = assert_outcome(refused, 403, "refusé", "consentement")
    OperationOutcome.model_validate(body)
    assert ("create", "denied") in [(a, o) for a, o, _ in trail(personas.mother)]
    from espace_sante.agenda.models import Appointment

    assert not Appointment.objects.filter(patient=personas.mother).exists()
    # With the patient's consent asserted by the software, the same request is accepted.
    with_consent = hospital_software.as_professional(
        personas.hospital_doctor, access_mode="consent"
    )
    assert with_consent.post("Appointment", appointment(personas.mother)).status_code == 201


def test_another_professional_neither_finds_nor_reads_nor_cancels_it(
    gp_software, hospital_software, personas
):
    booked = gp_software.post("Appointment", appointment(personas.mother)).json()
    other = hospital_software.as_professional(personas.hospital_doctor, access_mode="consent")
    found = other.get("Appointment", {"patient": str(personas.mother.id)})
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 0
    assert_outcome(other.get(f"Appointment/{booked['id']}"), 404, "introuvable")
    assert_outcome(
        put(other, f"Appointment/{booked['id']}", {**booked, "status": "cancelled"}),
        404,
        "introuvable",
    )
    assert ("read", "denied") in [(a, o) for a, o, _ in trail(personas.mother)]
    # Nor does a professional without any relation, whose search is empty (traced).
    stranger = hospital_software.get("Appointment", {"patient": str(personas.mother.id)})
    assert stranger.json()["total"] == 0
    assert_outcome(hospital_software.get("Appointment/not-an-id"), 404, "introuvable")


def test_the_patients_own_appointment_is_not_the_softwares(gp_software, personas):
    from espace_sante.agenda import services as agenda

    mine = agenda.add_appointment(
        as_patient(personas.mother),
        personas.mother,
        {"starts_at": next_month(), "reason": "Dentiste"},
    )
    found = gp_software.get("Appointment", {"patient": str(personas.mother.id)})
    assert found.json()["total"] == 0
    assert_outcome(gp_software.get(f"Appointment/{mine.id}"), 404, "introuvable")


def test_a_stale_if_match_is_412_and_changes_nothing(gp_software, personas):
    booked = gp_software.post("Appointment", appointment(personas.mother)).json()
    moved = {**booked, "description": "Bilan sanguin"}
    first = put(gp_software, f"Appointment/{booked['id']}", moved, headers={"If-Match": 'W/"1"'})
    assert first.status_code == 200, first.text
    assert first.json()["meta"]["versionId"] == "2"
    stale = put(
        gp_software,
        f"Appointment/{booked['id']}",
        {**booked, "status": "cancelled"},
        headers={"If-Match": 'W/"1"'},
    )
    assert_outcome(stale, 412, "a changé")
    again = gp_software.get(f"Appointment/{booked['id']}").json()
    assert again["status"] == "booked"
    assert again["description"] == "Bilan sanguin"


def test_the_author_moves_it_and_cancels_it_by_json_patch(gp_software, personas):
    booked = gp_software.post("Appointment", appointment(personas.mother)).json()
    later = next_month(hour=15)
    moved = put(
        gp_software,
        f"Appointment/{booked['id']}",
        {
            **booked,
            "start": later.isoformat(),
            "end": (later + timedelta(minutes=45)).isoformat(),
            "minutesDuration": 45,
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["minutesDuration"] == 45
    assert moved.json()["start"] == later.isoformat()
    cancelled = patch(
        gp_software,
        f"Appointment/{booked['id']}",
        [{"op": "replace", "path": "/status", "value": "cancelled"}],
        headers={"If-Match": moved.headers["ETag"]},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    back = patch(
        gp_software,
        f"Appointment/{booked['id']}",
        [{"op": "replace", "path": "/status", "value": "booked"}],
    )
    assert_outcome(back, 422, "annulé")


def test_the_zone_extension_keeps_a_reunion_time(gp_software, personas):
    reunion = ZoneInfo("Indian/Reunion")
    start = next_month(hour=9, zone=reunion)
    resource = appointment(
        personas.mother, start, extension=[{"url": TIMEZONE_URL, "valueCode": "Indian/Reunion"}]
    )
    created = gp_software.post("Appointment", resource)
    assert created.status_code == 201, created.text
    assert created.json()["start"] == start.isoformat()
    assert created.json()["start"].endswith("+04:00")
    # Universal time declares no local zone: accepted, answered in Paris time (same instant).
    paris = next_month()
    utc = paris.astimezone(ZoneInfo("UTC"))
    resource = appointment(personas.mother, utc)
    resource["start"] = utc.isoformat().replace("+00:00", "Z")
    in_utc = gp_software.post("Appointment", resource)
    assert in_utc.status_code == 201, in_utc.text
    assert in_utc.json()["start"] == paris.isoformat()


BAD_INPUTS = [
    # (what the sender declared, status, words of the diagnostics, expression)
    ({"start": None}, 400, "start est obligatoire", "Appointment.start"),
    ({"start": "2026-12-24T10:00:00"}, 400, "décalage horaire", "Appointment.start"),
    ({"start": "2026-12-24"}, 400, "n'est pas un instant", "Appointment.start"),
    ({"end": "2026-12-24T10:00"}, 400, "n'est pas un instant", "Appointment.end"),
    (
        {"start": "3000-01-01T10:00:00+01:00", "end": "3000-01-01T10:30:00+01:00"},
        400,
        "dans 5 ans",
        "Appointment.start",
    ),
    ({"status": "proposed"}, 400, "booked", "Appointment.status"),
    ({"status": "cancelled"}, 400, "booked", "Appointment.status"),
    ({"status": "planned"}, 400, "inconnu", "Appointment.status"),
    ({"minutesDuration": 20}, 400, "ne correspond pas", "Appointment.minutesDuration"),
    ({"description": "Contrôle\u0007"}, 400, "caractère de contrôle", "Appointment.description"),
    ({"description": "x" * 201}, 400, "200 caractères", "Appointment.description"),
    ({"comment": "à jeun"}, 400, "non pris en charge", "Appointment.comment"),
    ({"participant": []}, 400, "patient est obligatoire", "Appointment.participant"),
    (
        {"extension": [{"url": TIMEZONE_URL, "valueCode": "Mars/Olympus"}]},
        400,
        "n'existe pas",
        f"Appointment.extension('{TIMEZONE_URL}')",
    ),
    (
        {"extension": [{"url": TIMEZONE_URL, "valueCode": "Europe" * 60}]},
        400,
        "n'existe pas",
        f"Appointment.extension('{TIMEZONE_URL}')",
    ),
]


@pytest.mark.parametrize(("changes", "status", "words", "expression"), BAD_INPUTS)
def test_bad_input_is_refused_with_a_french_reason_naming_the_element(
    gp_software, personas, changes, status, words, expression
):
    from espace_sante.agenda.models import Appointment

    resource = appointment(personas.mother)
    for name, value in changes.items():
        if value is None:
            resource.pop(name)
        else:
            resource[name] = value
    body = assert_outcome(gp_software.post("Appointment", resource), status, words)
    OperationOutcome.model_validate(body)
    assert expression in body["issue"][0]["expression"], body
    assert not Appointment.objects.filter(patient=personas.mother).exists()


def test_end_before_start_and_a_foreign_offset_are_refused(gp_software, personas):
    start = next_month()
    before = appointment(personas.mother, start, end=(start - timedelta(minutes=5)).isoformat())
    assert_outcome(gp_software.post("Appointment", before), 400, "end doit suivre start")
    same = appointment(personas.mother, start, end=start.isoformat())
    assert_outcome(gp_software.post("Appointment", same), 400, "end doit suivre start")
    reunion = next_month(hour=9, zone=ZoneInfo("Indian/Reunion"))
    foreign = appointment(personas.mother, reunion)  # +04:00 without saying the zone
    assert_outcome(gp_software.post("Appointment", foreign), 400, "Europe/Paris", "timezone")
    too_short = appointment(personas.mother, start, minutes=2)
    assert_outcome(gp_software.post("Appointment", too_short), 400, "entre 5 minutes")


def test_the_body_must_be_an_appointment_for_a_known_patient(gp_software, personas):
    assert_outcome(gp_software.post("Appointment", {"resourceType": "Patient"}), 400, "Appointment")
    assert_outcome(gp_software.post("Appointment", "[1, 2]"), 400, "objet JSON")
    assert_outcome(gp_software.post("Appointment", "{not json"), 400, "JSON valide")
    unknown_element = appointment(personas.mother)
    unknown_element["participant"][1]["actor"]["colour"] = "bleu"
    assert_outcome(gp_software.post("Appointment", unknown_element), 400, "Appointment invalide")
    nul = appointment(personas.mother, description="avant\u0000après")
    assert_outcome(gp_software.post("Appointment", nul), 400, "NUL")
    nobody = appointment(personas.mother)
    nobody["participant"][0]["actor"] = {
        "reference": "Patient/0b7c8f1e-6a52-4c2e-9d0c-1f0e2d3c4b5a"
    }
    assert_outcome(gp_software.post("Appointment", nobody), 422, "Aucun espace santé")
    device = appointment(personas.mother)
    device["participant"].append({"actor": {"reference": "Device/1"}, "status": "accepted"})
    assert_outcome(gp_software.post("Appointment", device), 400, "Device")


def test_the_patient_of_a_change_must_be_the_appointments(gp_software, personas):
    booked = gp_software.post("Appointment", appointment(personas.mother)).json()
    elsewhere = appointment(personas.elder)
    assert_outcome(
        put(gp_software, f"Appointment/{booked['id']}", elsewhere), 422, "ne change pas d'agenda"
    )


def test_the_patient_sees_these_accesses_in_her_audit_events(live_server, gp_software, personas):
    booked = gp_software.post("Appointment", appointment(personas.mother)).json()
    gp_software.get(f"Appointment/{booked['id']}")
    token = citizen_token(personas.mother)
    response = requests.get(
        f"{live_server.url}/fhir/R4/AuditEvent",
        params={"patient": str(personas.mother.id)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    events = [entry["resource"] for entry in response.json()["entry"]]
    about = [
        event
        for event in events
        if {"reference": f"Appointment/{booked['id']}"}
        in [entity["what"] for entity in event["entity"]]
    ]
    assert {event["action"] for event in about} >= {"C", "R"}
    for event in about:
        AuditEvent.model_validate(event)


# --- A patient's connected app --------------------------------------------------------


def app_request(live_server, token, method, path, **kwargs) -> requests.Response:
    return requests.request(
        method,
        f"{live_server.url}/fhir/R4/{path}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=30,
        **kwargs,
    )


def test_her_app_books_and_finds_appointments_with_its_scope(live_server, personas, gp_software):
    from espace_sante.agenda import services as agenda

    token = citizen_token(personas.mother, token="jeton-agenda", scope="patient/Appointment.crus")
    created = app_request(
        live_server, token, "POST", "Appointment", json=appointment(personas.mother)
    )
    assert created.status_code == 201, created.text
    [seen] = agenda.list_appointments(as_patient(personas.mother), personas.mother)
    assert agenda.added_by(seen).startswith("ajouté par l'application Carnet de santé")
    found = app_request(live_server, token, "GET", "Appointment")
    assert found.status_code == 200, found.text
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [created.json()["id"]]
    # The software sees the agenda only as far as it booked: not the app's appointment.
    assert gp_software.get("Appointment", {"patient": str(personas.mother.id)}).json()["total"] == 0
    cancelled = app_request(
        live_server,
        token,
        "PUT",
        f"Appointment/{created.json()['id']}",
        json={**created.json(), "status": "cancelled"},
    )
    assert cancelled.status_code == 200, cancelled.text
    # Someone else's record: the app reaches nothing there.
    elsewhere = app_request(
        live_server, token, "POST", "Appointment", json=appointment(personas.elder)
    )
    assert_outcome(elsewhere, 403, "refusé", "application")


def test_an_app_without_the_scope_is_refused(live_server, personas):
    token = citizen_token(personas.mother, token="jeton-lecture", scope="patient/Appointment.rs")
    refused = app_request(
        live_server, token, "POST", "Appointment", json=appointment(personas.mother)
    )
    assert_outcome(refused, 403, "patient/Appointment.c")
    assert app_request(live_server, token, "GET", "Appointment").status_code == 200
    assert_outcome(app_request(live_server, "faux", "GET", "Appointment"), 401, "Jeton")


@pytest.mark.parametrize(
    ("operations", "status", "words"),
    [
        ([1], 400, "JSON Patch"),
        ([{"op": "explode", "path": "/status"}], 400, "JSON Patch invalide"),
        ([{"op": "remove", "path": "/nothing-here"}], 422, "inapplicable"),
        ([{"op": "replace", "path": "", "value": 5}], 400, "Appointment"),
        ([{"op": "replace", "path": "/status", "value": "noshow"}], 400, "impossible"),
        ([{"op": "test", "path": "/status", "value": "fulfilled"}], 409, "test"),
        ([{"op": "add", "path": "/comment", "value": "à jeun"}], 400, "non pris en charge"),
        ([], 400, "non vide"),
    ],
)
def test_a_patch_that_cannot_apply_is_refused_and_changes_nothing(
    gp_software, personas, operations, status, words
):
    booked = gp_software.post("Appointment", appointment(personas.mother)).json()
    refused = patch(gp_software, f"Appointment/{booked['id']}", operations)
    assert_outcome(refused, status, words)
    assert gp_software.get(f"Appointment/{booked['id']}").json()["meta"]["versionId"] == "1"


def _odd_bodies():
    def participant(index, value):
        return lambda r: r["participant"].__setitem__(index, value)

    def with_participant(value):
        return lambda r: r["participant"].append(value)

    return {
        "participant null": lambda r: r.__setitem__("participant", None),
        "participant an object": lambda r: r.__setitem__("participant", {"actor": {}}),
        "actor null": participant(0, {"actor": None, "status": "accepted"}),
        "empty conditional reference": participant(
            0, {"actor": {"reference": "Patient?identifier="}, "status": "accepted"}
        ),
        "wrong NIR key": participant(
            0,
            {
                "actor": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "123"}},
                "status": "accepted",
            },
        ),
        "two patients": with_participant(
            {"actor": {"reference": "Patient/x"}, "status": "accepted"}
        ),
        "two practitioners": with_participant(
            {"actor": {"type": "Practitioner", "display": "Dr B"}, "status": "accepted"}
        ),
        "practitioner without a name": participant(
            1, {"actor": {"type": "Practitioner"}, "status": "accepted"}
        ),
        "unknown RPPS": participant(
            1,
            {
                "actor": {
                    "type": "Practitioner",
                    "identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "10000000000"},
                },
                "status": "accepted",
            },
        ),
        "location without display": participant(
            2, {"actor": {"reference": "Location/1"}, "status": "accepted"}
        ),
        "start a number": lambda r: r.__setitem__("start", 1766568600),
        "seconds in the duration": lambda r: r.__setitem__(
            "end", r["end"].replace(":00+", ":30+", 1)
        ),
        "negative minutesDuration": lambda r: r.__setitem__("minutesDuration", -30),
        "description a number": lambda r: r.__setitem__("description", 12),
        "extension without value": lambda r: r.__setitem__("extension", [{"url": TIMEZONE_URL}]),
        "another extension": lambda r: r.__setitem__(
            "extension", [{"url": "https://example.org/x", "valueString": "y"}]
        ),
        "no status": lambda r: r.pop("status"),
        "id of another appointment": lambda r: r.__setitem__("identifier", [{"value": "1"}]),
    }


ODD = _odd_bodies()


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_bodies_get_a_4xx_outcome_never_a_500(gp_software, personas, name):
    resource = appointment(personas.mother)
    ODD[name](resource)
    response = gp_software.post("Appointment", resource)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "query",
    [
        {"date": "gibberish"},
        {"date": "ne2026-12-01"},
        {"date": "ge2026-13-45"},
        {"status": "planned"},
        {"_count": "-1"},
        {"_sort": "date"},
        {"patient.identifier": "urn:oid:9.9|1"},
    ],
)
def test_odd_searches_get_a_400_outcome(gp_software, personas, query):
    params = {"patient": str(personas.mother.id)}
    if "patient.identifier" in query:
        params = {}
    assert_outcome(gp_software.get("Appointment", {**params, **query}), 400)


def test_a_search_needs_the_patient(gp_software):
    assert_outcome(gp_software.get("Appointment", {"status": "booked"}), 400, "patient")


def test_a_search_pages_with_next_and_previous_links(gp_software, personas):
    for hour in (9, 11, 14):
        created = gp_software.post("Appointment", appointment(personas.mother, next_month(hour)))
        assert created.status_code == 201, created.text
    first = gp_software.get("Appointment", {"patient": str(personas.mother.id), "_count": "2"})
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["total"] == 3 and len(page["entry"]) == 2
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert "previous" not in links
    # The next page, as a client follows it (the URL already holds every parameter).
    second = requests.get(links["next"], headers=gp_software.headers(), timeout=30)
    assert second.status_code == 200, second.text
    rest = second.json()
    assert len(rest["entry"]) == 1 and "previous" in {link["relation"] for link in rest["link"]}
    starts = [e["resource"]["start"] for e in page["entry"] + rest["entry"]]
    assert starts == sorted(starts)  # by start, soonest first


def test_the_capability_statement_says_what_the_appointment_door_does(live_server):
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    response = requests.get(f"{live_server.url}/fhir/R4/metadata", timeout=10)
    assert response.status_code == 200, response.text
    statement = CapabilityStatement.model_validate(response.json())
    [door] = [item for item in statement.rest[0].resource if item.type == "Appointment"]
    assert {i.code for i in door.interaction} == {
        "create",
        "read",
        "vread",
        "update",
        "patch",
        "search-type",
    }
    assert {p.name for p in door.searchParam} == {
        "patient",
        "patient.identifier",
        "date",
        "status",
        "_count",
    }
