"""The policy remembers a professional's relation to a patient for one request, no longer.

Inside ``request_memo()`` (each FHIR request runs in one) the relation is
computed once; a change made in the same request — a consent recorded, a
médecin traitant removed, a setting changed — is seen by the next decision,
and nothing is remembered outside the block or in another thread.
"""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from espace_sante.access import policy
from espace_sante.access import services as access
from espace_sante.access.policy import Action, Actor, ActorKind, Mode, request_memo
from espace_sante.identity.models import Organization

pytestmark = pytest.mark.django_db


def pro_actor(professional, organization=None):
    return Actor(
        ActorKind.PROFESSIONAL,
        professional_id=professional.id,
        profession=professional.profession,
        organization_id=organization.id if organization else None,
    )


def test_one_relation_query_then_none_inside_a_request(personas):
    gp = pro_actor(personas.gp)
    with request_memo():
        with CaptureQueriesContext(connection) as first:
            assert policy.decide(gp, Action.LIST, personas.mother.id).mode == Mode.MEDECIN_TRAITANT
        with CaptureQueriesContext(connection) as again:
            policy.decide(gp, Action.LIST, personas.mother.id)
            policy.access_settings(personas.mother.id)
    assert len(first) == 1  # the relation; a list filters by the matrix in SQL
    assert len(again) == 0


def test_a_consent_recorded_in_the_request_is_seen_by_the_next_decision(personas):
    benali = pro_actor(personas.hospital_doctor)
    with request_memo():
        assert not policy.can(benali, Action.LIST, personas.mother.id)
        access.record_consent(benali, personas.mother)
        assert policy.decide(benali, Action.LIST, personas.mother.id).mode == Mode.CONSENT


def test_a_care_team_declared_in_the_request_is_seen(personas):
    hospital = Organization.objects.get(finess="310004569")
    benali = pro_actor(personas.hospital_doctor, hospital)
    with request_memo():
        assert not policy.can(benali, Action.LIST, personas.mother.id)
        access.declare_care_team(benali, personas.mother)
        assert policy.decide(benali, Action.LIST, personas.mother.id).mode == Mode.CARE_TEAM


def test_a_change_saved_without_an_access_verb_is_seen_too(personas):
    gp = pro_actor(personas.gp)
    with request_memo():
        assert policy.can(gp, Action.LIST, personas.mother.id)
        mother = type(personas.mother).objects.get(pk=personas.mother.id)
        mother.medecin_traitant = None
        mother.save(update_fields=["medecin_traitant"])
        assert not policy.can(gp, Action.LIST, personas.mother.id)


def test_a_setting_changed_in_the_request_is_seen(personas):
    marie = Actor(ActorKind.PATIENT, person_id=personas.mother.id)
    with request_memo():
        assert policy.access_settings(personas.mother.id).emergency_btg
        access.update_settings(marie, personas.mother, emergency_btg=False)
        assert not policy.access_settings(personas.mother.id).emergency_btg


def test_nothing_is_remembered_after_the_request_nor_in_another_thread(personas):
    gp = pro_actor(personas.gp)
    seen_in_thread = []
    with request_memo():
        policy.decide(gp, Action.LIST, personas.mother.id)
        worker = threading.Thread(target=lambda: seen_in_thread.append(policy._memo.get()))
        worker.start()
        worker.join()
    assert seen_in_thread == [None]
    assert policy._memo.get() is None
    with CaptureQueriesContext(connection) as after:
        policy.decide(gp, Action.LIST, personas.mother.id)
    assert len(after) >= 1  # asked again: outside a request nothing is cached
