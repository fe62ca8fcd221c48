"""Twenty people pressing the same button at once: one block, one consent, one objection.

Run on PostgreSQL, where requests really run side by side (SQLite's in-memory
test database is not shared between threads).
"""

import pytest
from django.db import connection

from espace_sante.access import services as access
from espace_sante.access.consent_models import Block, Consent
from espace_sante.access.models import AuditEntry
from espace_sante.enrollment import services as enrollment
from espace_sante.enrollment.models import SpaceTransition
from espace_sante.identity.models import SpaceState
from tests.access.audit_support import pro_actor
from tests.personas import make_person, make_professional, patient_actor

from .parallel import all_at_once

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Requêtes simultanées : PostgreSQL seulement (SQLite en mémoire n'est pas partagé)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_twenty_blocks_at_once_leave_one_active_block():
    camille, doctor = make_person(), make_professional()
    results, errors = all_at_once(
        lambda: access.block_professional(patient_actor(camille), camille, doctor)
    )
    assert errors == []
    assert Block.objects.filter(patient=camille, lifted_at=None).count() == 1
    assert {block.id for block in results} == {Block.objects.get().id}
    # One change, one line in her history.
    assert AuditEntry.objects.filter(patient_id=camille.id, action="block").count() == 1


def test_twenty_consents_at_once_leave_one_running_consent():
    camille, doctor = make_person(), make_professional()
    results, errors = all_at_once(lambda: access.record_consent(pro_actor(doctor), camille))
    assert errors == []
    assert Consent.objects.filter(patient=camille, revoked_at=None).count() == 1
    assert AuditEntry.objects.filter(patient_id=camille.id, action="consent").count() == 1


def test_twenty_objections_at_once_are_all_told_the_objection_is_recorded(
    imported, campaign, smtp_server
):
    import re

    enrollment.send_invitation_emails(campaign)
    body = smtp_server.body(smtp_server.wait_for("personne2@exemple.test"))
    code = re.search(r"code provisoire : ([A-Z0-9-]{14})", body).group(1)
    row = imported[1]
    check = enrollment.check_code(row["nir"], row["numero_serie_carte"], code)

    results, errors = all_at_once(lambda: enrollment.object_to_creation(check))
    assert errors == []  # nobody told « déjà activé »
    person = check.person
    person.refresh_from_db()
    assert person.space_state == SpaceState.OBJECTED
    objections = SpaceTransition.objects.filter(patient=person, event="objected")
    assert objections.count() == 1
    assert {record.pk for record in results} == {objections.get().pk}
