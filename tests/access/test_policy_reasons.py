"""An allowed access carries its reason: the audit trail records it and the history shows it
(« en tant que titulaire », « représentant légal », « dépôt »…), from access.md."""

import pytest

from espace_sante.access.policy import Action, Mode, actor_for_user, decide
from espace_sante.record.models import Document
from tests.personas import make_professional

from .audit_support import pro_actor

pytestmark = pytest.mark.django_db


def test_the_titulaire_reads_her_record_as_titulaire(personas):
    decision = decide(actor_for_user(personas.mother.user), Action.LIST, personas.mother.id)
    assert (decision.allowed, decision.mode) == (True, Mode.TITULAIRE)


def test_a_parent_reads_the_child_s_record_as_legal_representative(personas):
    decision = decide(actor_for_user(personas.mother.user), Action.LIST, personas.child.id)
    assert (decision.allowed, decision.mode) == (True, Mode.REPRESENTATIVE)


def test_a_professional_without_any_reason_deposits_as_a_deposit(personas):
    actor = pro_actor(make_professional(last_name="Inconnu"))
    assert not decide(actor, Action.LIST, personas.mother.id)  # no reason to read
    decision = decide(actor, Action.CREATE, personas.mother.id)
    assert (decision.allowed, decision.mode) == (True, Mode.DEPOSIT)


def test_the_medecin_traitant_deposits_as_medecin_traitant(personas):
    decision = decide(pro_actor(personas.gp), Action.CREATE, personas.mother.id)
    assert (decision.allowed, decision.mode) == (True, Mode.MEDECIN_TRAITANT)


def test_a_professional_withdraws_their_own_document_as_its_author(personas):
    own = Document(patient_id=personas.mother.id, author_professional_id=personas.gp.id)
    decision = decide(pro_actor(personas.gp), Action.WITHDRAW, personas.mother.id, own)
    assert (decision.allowed, decision.mode) == (True, Mode.AUTHOR)


def test_the_medecin_traitant_reads_a_report_and_the_vaccinations_as_medecin_traitant(personas):
    gp, patient_id = pro_actor(personas.gp), personas.mother.id
    report = Document(patient_id=patient_id, type_code="11502-2")  # a laboratory report
    for decision in (
        decide(gp, Action.READ, patient_id, report),
        decide(gp, Action.READ, patient_id, section="profile:vaccinations"),
    ):
        assert (decision.allowed, decision.mode) == (True, Mode.MEDECIN_TRAITANT)
