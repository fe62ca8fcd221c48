"""A space that does not exist yet, or is closed, is out of everyone's reach.

lifecycle.md: before creation there is no record; after closing the data are
archived (encrypted) and nobody reads them, not even the titulaire.
"""

import uuid

import pytest
from django.utils import timezone

from espace_sante.access import services as access
from espace_sante.access.policy import (
    Action,
    Actor,
    ActorKind,
    actor_for_user,
    can,
    visible_documents,
)
from espace_sante.identity.models import SpaceState
from espace_sante.record.documents.models import Document

pytestmark = pytest.mark.django_db


def gp_actor(personas):
    return Actor(
        ActorKind.PROFESSIONAL,
        professional_id=personas.gp.id,
        profession=personas.gp.profession,
    )


def lab_result(patient):
    # Metadata only: the decisions never look at the bytes.
    document_id = uuid.uuid4()
    return Document.objects.create(
        id=document_id,
        patient=patient,
        type_code="11502-2",
        class_code="10",
        category="BIOLOGIE",
        title_encrypted=b"",
        format_code="urn:ihe:iti:xds-sd:pdf:2008",
        mime_type="application/pdf",
        size=0,
        sha256="",
        blob_name=f"test/{document_id}",
        source=Document.Source.PROFESSIONAL,
        document_date=timezone.now(),
    )


def set_state(person, state):
    person.space_state = state
    person.save(update_fields=["space_state"])


@pytest.mark.parametrize(
    "state", [SpaceState.INVITED, SpaceState.OBJECTED, SpaceState.CLOSED, SpaceState.SUSPENDED]
)
def test_nothing_is_deposited_or_read_when_the_space_is_not_open(personas, state):
    marie = personas.mother
    document = lab_result(marie)
    set_state(marie, state)

    gp = gp_actor(personas)
    assert not can(gp, Action.CREATE, marie.id)
    assert not can(gp, Action.READ, marie.id, document)
    assert not visible_documents(gp, marie.id, Document.objects.all()).exists()
    titulaire = actor_for_user(marie.user)
    assert not can(titulaire, Action.READ, marie.id, document)
    assert not visible_documents(titulaire, marie.id, Document.objects.all()).exists()


@pytest.mark.parametrize("state", [SpaceState.CREATED, SpaceState.ACTIVATED])
def test_an_open_space_receives_and_shows_documents(personas, state):
    marie = personas.mother
    document = lab_result(marie)
    set_state(marie, state)

    gp = gp_actor(personas)  # her médecin traitant
    assert can(gp, Action.CREATE, marie.id)
    assert can(gp, Action.READ, marie.id, document)
    assert can(actor_for_user(marie.user), Action.READ, marie.id, document)


def test_a_parent_no_longer_reads_a_child_space_once_closed(personas):
    mother = actor_for_user(personas.mother.user)
    child = personas.child
    document = lab_result(child)
    assert can(mother, Action.READ, child.id, document)

    set_state(child, SpaceState.CLOSED)

    assert not can(mother, Action.READ, child.id, document)


def test_a_consent_given_before_closing_opens_nothing_after(personas):
    marie = personas.mother
    cardiologist = Actor(
        ActorKind.PROFESSIONAL,
        professional_id=personas.hospital_doctor.id,
        profession=personas.hospital_doctor.profession,
    )
    access.record_consent(cardiologist, marie)
    document = lab_result(marie)
    assert can(cardiologist, Action.READ, marie.id, document)

    set_state(marie, SpaceState.CLOSED)

    assert not can(cardiologist, Action.READ, marie.id, document)
