"""Twenty identical access changes at once (access.md): one change, one line of history.

Each race fires PARALLEL calls of the service a page calls, released together,
and checks what the rules promise: one active row, every caller told the same
outcome, one audit entry per real change (not twenty, not none).
"""

import pytest

from espace_sante.access import services as access
from espace_sante.access.consent_models import (
    AccessSettings,
    Block,
    Caregiver,
    CareRelationship,
    Consent,
    EmergencyAccess,
    PatientRole,
)
from espace_sante.access.models import AuditEntry
from espace_sante.identity.models import Role
from tests.access.audit_support import pro_actor
from tests.personas import make_person, make_professional, make_stranger, patient_actor

from .parallel import ON_POSTGRES, PARALLEL, race_of

pytestmark = [ON_POSTGRES, pytest.mark.django_db(transaction=True)]


def traced(patient, action: str) -> int:
    return AuditEntry.objects.filter(
        patient_id=patient.id, action=action, outcome="allowed"
    ).count()


def organization_of(professional):
    return Role.objects.get(professional=professional).organization


def test_twenty_unblocks_lift_the_block_once():
    camille, doctor = make_person(), make_professional()
    access.block_professional(patient_actor(camille), camille, doctor)
    race = race_of(lambda: access.unblock_professional(patient_actor(camille), camille, doctor))
    race.report(
        "déblocage",
        kind=lambda lifted: "levé" if lifted else "déjà levé",
        blocs_actifs=Block.objects.filter(patient=camille, lifted_at=None).count(),
        audit=traced(camille, "unblock"),
    )
    assert race.errors == []
    assert sorted(race.results) == [False] * (PARALLEL - 1) + [True]
    assert not Block.objects.filter(patient=camille, lifted_at=None).exists()
    assert traced(camille, "unblock") == 1


def test_twenty_withdrawals_of_a_consent_end_it_once():
    camille, doctor = make_person(), make_professional()
    access.record_consent(pro_actor(doctor), camille)
    race = race_of(lambda: access.revoke_consent(patient_actor(camille), camille, doctor))
    race.report(
        "retrait de consentement",
        kind=lambda revoked: "retiré" if revoked else "déjà retiré",
        consentements_actifs=Consent.objects.filter(patient=camille, revoked_at=None).count(),
        audit=traced(camille, "revoke_consent"),
    )
    assert race.errors == []
    assert sorted(race.results) == [False] * (PARALLEL - 1) + [True]
    assert not Consent.objects.filter(patient=camille, revoked_at=None).exists()
    assert traced(camille, "revoke_consent") == 1


def test_twenty_administrateur_nominations_give_one_role():
    camille, doctor = make_person(), make_professional()
    race = race_of(
        lambda: access.set_role(patient_actor(camille), camille, doctor, "administrateur")
    )
    roles = PatientRole.objects.filter(patient=camille, professional=doctor)
    race.report("rôle administrateur", lignes=roles.count(), audit=traced(camille, "role"))
    assert race.errors == []
    assert roles.count() == 1
    assert {role.pk for role in race.results} == {roles.get().pk}
    assert traced(camille, "role") == 1


def test_twenty_removals_of_a_role_remove_it_once():
    camille, doctor = make_person(), make_professional()
    access.set_role(patient_actor(camille), camille, doctor, "administrateur")
    race = race_of(
        lambda: access.remove_role(patient_actor(camille), camille, doctor, "administrateur")
    )
    race.report(
        "retrait de rôle",
        kind=lambda removed: "retiré" if removed else "déjà retiré",
        lignes=PatientRole.objects.filter(patient=camille).count(),
        audit=traced(camille, "remove_role"),
    )
    assert race.errors == []
    assert sorted(race.results) == [False] * (PARALLEL - 1) + [True]
    assert traced(camille, "remove_role") == 1


def test_twenty_care_team_declarations_leave_one_care_relation():
    camille, doctor = make_person(), make_professional()
    cabinet = organization_of(doctor)
    race = race_of(lambda: access.declare_care_team(pro_actor(doctor, cabinet), camille))
    relations = CareRelationship.objects.filter(patient=camille, ended_at=None)
    race.report("équipe de soins", lignes=relations.count(), audit=traced(camille, "care_team"))
    assert race.errors == []
    assert relations.count() == 1
    assert {relation.pk for relation in race.results} == {relations.get().pk}
    assert traced(camille, "care_team") == 1


def test_twenty_objections_to_a_care_team_are_traced_once():
    camille, doctor = make_person(), make_professional()
    cabinet = organization_of(doctor)
    access.declare_care_team(pro_actor(doctor, cabinet), camille)
    race = race_of(lambda: access.object_to_care_team(patient_actor(camille), camille, cabinet))
    race.report(
        "opposition à une équipe de soins",
        opposees=CareRelationship.objects.filter(patient=camille, objected=True).count(),
        audit=traced(camille, "care_team_objection"),
    )
    assert race.errors == []
    assert CareRelationship.objects.get(patient=camille).objected
    # One objection, one line in her history: not twenty.
    assert traced(camille, "care_team_objection") == 1


def test_twenty_emergency_accesses_at_once_open_one():
    camille, doctor = make_person(), make_professional()
    cabinet = organization_of(doctor)
    race = race_of(
        lambda: access.start_emergency_access(
            pro_actor(doctor, cabinet), camille, "btg", "Patiente inconsciente aux urgences"
        )
    )
    running = EmergencyAccess.objects.filter(patient=camille, professional=doctor)
    race.report("bris de glace", lignes=running.count(), audit=traced(camille, "emergency"))
    assert race.errors == []
    # One emergency access: she and her médecin traitant are told once, not twenty times.
    assert running.count() == 1
    assert {granted.pk for granted in race.results} == {running.get().pk}
    assert traced(camille, "emergency") == 1


def test_twenty_invitations_of_the_same_aidant_leave_one_invitation():
    camille, paul = make_person(), make_stranger()
    race = race_of(lambda: access.invite_caregiver(patient_actor(camille), camille, paul))
    links = Caregiver.objects.filter(patient=camille, caregiver=paul)
    race.report(
        "invitation d'un aidant", lignes=links.count(), audit=traced(camille, "caregiver_invite")
    )
    assert race.errors == []
    assert links.count() == 1
    assert {link.pk for link in race.results} == {links.get().pk}
    assert traced(camille, "caregiver_invite") == 1


def test_twenty_invitations_of_different_aidants_stop_at_three():
    camille = make_person()
    helpers = [make_stranger(first_names=f"Aidant {index}") for index in range(PARALLEL)]
    race = race_of(
        lambda index: access.invite_caregiver(patient_actor(camille), camille, helpers[index])
    )
    links = Caregiver.objects.filter(patient=camille)
    race.report(
        "aidants différents",
        kind=lambda link: "invité",
        lignes=links.count(),
        audit=traced(camille, "caregiver_invite"),
    )
    # At most 3 aidants per person (access.md); the others are told it is the maximum.
    assert links.count() == access.MAX_CAREGIVERS
    assert len(race.results) == access.MAX_CAREGIVERS
    assert len(race.errors) == PARALLEL - access.MAX_CAREGIVERS
    assert {error.messages[0] for error in race.errors} == {
        "Vous avez déjà 3 aidants : c'est le maximum."
    }
    assert traced(camille, "caregiver_invite") == access.MAX_CAREGIVERS


def test_twenty_people_inviting_one_aidant_stop_at_five():
    paul = make_stranger()
    people = [make_person(first_names=f"Aidé {index}") for index in range(PARALLEL)]
    race = race_of(
        lambda index: access.invite_caregiver(patient_actor(people[index]), people[index], paul)
    )
    links = Caregiver.objects.filter(caregiver=paul)
    race.report("aidés d'un même aidant", kind=lambda link: "invité", lignes=links.count())
    # An aidant helps 5 people at most (access.md).
    assert links.count() == access.MAX_CARED_FOR
    assert len(race.results) == access.MAX_CARED_FOR
    assert {error.messages[0] for error in race.errors} == {
        "Cette personne aide déjà 5 personnes : c'est le maximum."
    }


def test_twenty_acceptances_of_an_invitation_are_traced_once():
    camille, paul = make_person(), make_stranger()
    link = access.invite_caregiver(patient_actor(camille), camille, paul)
    race = race_of(
        lambda: access.answer_caregiver_invitation(
            patient_actor(paul), Caregiver.objects.get(pk=link.pk), accept=True
        )
    )
    race.report("acceptation d'aidant", audit=traced(camille, "caregiver_answer"))
    assert race.errors == []
    assert {answered.status for answered in race.results} == {Caregiver.Status.ACCEPTED}
    assert traced(camille, "caregiver_answer") == 1


def test_an_answer_cannot_change_a_refusal_given_in_parallel():
    camille, paul = make_person(), make_stranger()
    link = access.invite_caregiver(patient_actor(camille), camille, paul)
    race = race_of(
        lambda index: access.answer_caregiver_invitation(
            patient_actor(paul), Caregiver.objects.get(pk=link.pk), accept=index % 2 == 0
        )
    )
    link.refresh_from_db()
    race.report(
        "acceptation et refus mêlés",
        kind=lambda answered: answered.status,
        statut=link.status,
        audit=traced(camille, "caregiver_answer"),
    )
    # The first answer holds: everyone who gave it is told so, the others are refused.
    assert traced(camille, "caregiver_answer") == 1
    assert {answered.status for answered in race.results} == {link.status}
    assert len(race.results) == PARALLEL // 2
    assert {error.messages[0] for error in race.errors} == {
        "Cette invitation a déjà reçu une réponse."
    }


def test_twenty_identical_settings_changes_are_traced_once():
    camille = make_person()
    race = race_of(
        lambda: access.update_settings(patient_actor(camille), camille, emergency_btg=False)
    )
    race.report(
        "paramètres d'urgence",
        lignes=AccessSettings.objects.filter(patient=camille).count(),
        audit=traced(camille, "settings"),
    )
    assert race.errors == []
    assert AccessSettings.objects.get(patient=camille).emergency_btg is False
    assert traced(camille, "settings") == 1


def test_twenty_authorisations_of_an_app_at_once_leave_one_grant():
    from espace_sante.access import grants
    from espace_sante.access.models import AppGrant
    from tests.personas import make_application

    camille, application = make_person(), make_application()
    scopes = "patient/DocumentReference.rs"
    race = race_of(
        lambda: grants.grant_app(
            patient_actor(camille), camille, application, scopes, purposes=("suivi",)
        )
    )
    race.report(
        "autorisation d'une application",
        lignes=AppGrant.objects.filter(patient=camille).count(),
        audit=traced(camille, "app_grant"),
    )
    # Never « réessayez »: each request finds the one grant and renews it.
    assert race.errors == []
    assert AppGrant.objects.filter(patient=camille, application=application).count() == 1


def test_twenty_withdrawals_of_an_app_withdraw_once():
    from espace_sante.access import grants
    from espace_sante.access.models import AppGrant, ArchivedAppGrant
    from tests.personas import make_app

    camille = make_person()
    application = make_app(camille, "patient/DocumentReference.rs")
    race = race_of(lambda: grants.revoke_app(patient_actor(camille), camille, application))
    revoked = ArchivedAppGrant.objects.filter(patient=camille, ending="revoked")
    race.report(
        "retrait d'une application",
        kind=lambda done: "retirée" if done else "déjà retirée",
        archives=revoked.count(),
        audit=traced(camille, "app_revoke"),
    )
    assert race.errors == []
    assert sorted(race.results) == [False] * (PARALLEL - 1) + [True]
    assert not AppGrant.objects.filter(patient=camille).exists()
    assert revoked.count() == 1
    assert traced(camille, "app_revoke") == 1
