"""The policy never answers from a state the space has just left, even within one request."""

import pytest
from django.db import transaction

from espace_sante.access.policy import Action, Actor, ActorKind, can, request_memo
from espace_sante.enrollment import services
from espace_sante.enrollment.models import SpaceTransition

Event = SpaceTransition.Event

pytestmark = pytest.mark.django_db


def test_a_space_closed_during_a_request_refuses_the_rest_of_that_request(personas):
    marie = personas.mother
    gp = Actor(
        ActorKind.PROFESSIONAL, professional_id=personas.gp.id, profession=personas.gp.profession
    )
    with request_memo():
        assert can(gp, Action.CREATE, marie.id)
        with transaction.atomic():
            services.transition(services.lock_person(marie.id), Event.CLOSED)
        assert not can(gp, Action.CREATE, marie.id)
