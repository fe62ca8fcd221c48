"""Connected apps as policy actors: what a grant lets them do, and what its end takes away.

Written from the rules (access.md, services.md « catalogue de services »):
an app acts for a citizen, within the scopes the patient's side granted
and its token carries, never beyond what that citizen may do; without an
active grant it does nothing; every use and every refusal is traced and the
history names the app. Personas come from ``tests.personas``, not the demo.
"""

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from espace_sante.access import grants, history
from espace_sante.access.grant_models import AppGrant, ArchivedAppGrant
from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import Action, NotAllowed
from espace_sante.access.services import AccessChangeRefused
from espace_sante.identity import services as identity
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.services import NewDocument
from espace_sante.record.profile import services as profile_services
from tests.access.audit_support import POSTGRES, pro_actor
from tests.personas import (
    make_app,
    make_application,
    make_blocked_professional,
    make_person,
    make_stranger,
    patient_actor,
)
from tests.record.conftest import make_pdf

pytestmark = pytest.mark.django_db
APP_NAME = "Carnet de santé (application)"
DOCUMENTS = "patient/DocumentReference.rs"


@pytest.fixture
def camille():
    return make_person()


@pytest.fixture
def her_document(camille):
    return documents.add_document(
        patient_actor(camille),
        camille,
        SimpleUploadedFile("bilan.pdf", make_pdf("Bilan")),
        NewDocument(title="Bilan sanguin", type_code="DOCPAT03", source=Document.Source.PATIENT),
    )


def app_entries(patient, client_id, **filters):
    return AuditEntry.objects.filter(
        patient_id=patient.id, actor_kind="app", acting_for=client_id, **filters
    )


def test_an_app_with_a_grant_reads_what_its_scopes_allow_and_nothing_else(camille, her_document):
    app = make_app(camille, DOCUMENTS)
    # The token asks for more than the patient granted: the grant wins.
    actor = grants.app_actor(
        app, camille.id, camille.id, f"{DOCUMENTS} patient/Observation.cruds openid"
    )
    assert actor.scopes == frozenset({DOCUMENTS})

    listed = documents.list_documents(actor, camille.id)
    assert [item.document.id for item in listed] == [her_document.id]
    assert documents.access_document(actor, her_document.id).id == her_document.id

    with pytest.raises(NotAllowed):  # no write scope
        documents.add_document(
            actor,
            camille,
            SimpleUploadedFile("autre.pdf", make_pdf()),
            NewDocument(title="Autre", type_code="DOCPAT03", source=Document.Source.PATIENT),
        )
    with pytest.raises(NotAllowed):  # measures were not granted, whatever the token says
        profile_services.latest_measures(actor, camille)
    with pytest.raises(NotAllowed):  # only the patient's side manages the space's access
        grants.grant_app(actor, camille, app, "patient/*.cruds")

    allowed = app_entries(camille, app.client_id, outcome="allowed")
    assert set(allowed.values_list("action", "mode")) == {("list", "app"), ("read", "app")}
    assert app_entries(camille, app.client_id, outcome="denied").count() == 3


def test_the_token_narrows_the_grant_too(camille, her_document):
    app = make_app(camille, "patient/*.cruds")
    actor = grants.app_actor(app, camille.id, camille.id, "patient/DocumentReference.r")
    assert documents.access_document(actor, her_document.id).id == her_document.id
    with pytest.raises(NotAllowed):  # reading one is not searching the list
        documents.list_documents(actor, camille.id)


def test_after_revocation_the_app_reads_nothing_and_the_archive_keeps_the_grant(
    camille, her_document
):
    app = make_app(camille, DOCUMENTS, purposes=("suivi", "prevention"))
    granted = AppGrant.objects.get(patient=camille, application=app)
    actor = grants.app_actor(app, camille.id, camille.id)  # built before the revocation

    assert grants.revoke_app(patient_actor(camille), camille, app) is True
    assert grants.revoke_app(patient_actor(camille), camille, app) is False
    assert grants.active_grant(camille.id, app) is None

    for reader in (actor, grants.app_actor(app, camille.id, camille.id)):
        with pytest.raises(NotAllowed):
            documents.access_document(reader, her_document.id)
        with pytest.raises(NotAllowed):
            documents.list_documents(reader, camille.id)
    assert app_entries(camille, app.client_id, outcome="denied").count() == 4

    [archived] = ArchivedAppGrant.objects.filter(patient=camille)
    assert archived.grant_id == granted.id
    assert (archived.client_id, archived.application_name) == (app.client_id, APP_NAME)
    assert archived.scopes == DOCUMENTS
    assert archived.purposes == ["prevention", "suivi"]
    assert archived.ending == ArchivedAppGrant.Ending.REVOKED
    assert archived.ended_by_id == camille.id
    assert archived.created_at == granted.created_at and archived.revoked_at >= granted.created_at


def test_an_expired_grant_allows_nothing_and_a_new_grant_archives_it(camille, her_document):
    app = make_app(camille, DOCUMENTS)
    past = timezone.now() - timedelta(minutes=1)
    AppGrant.objects.filter(patient=camille, application=app).update(expires_at=past)

    with pytest.raises(NotAllowed):
        documents.access_document(grants.app_actor(app, camille.id, camille.id), her_document.id)
    assert app_entries(camille, app.client_id, outcome="denied").count() == 1

    grants.grant_app(patient_actor(camille), camille, app, DOCUMENTS)
    assert documents.access_document(grants.app_actor(app, camille.id, camille.id), her_document.id)
    [archived] = ArchivedAppGrant.objects.filter(patient=camille)
    assert archived.ending == ArchivedAppGrant.Ending.EXPIRED
    assert AppGrant.objects.filter(patient=camille, application=app).count() == 1


def test_granting_again_replaces_the_grant_and_archives_the_old_one(camille):
    app = make_app(camille, DOCUMENTS)
    renewed = grants.grant_app(
        patient_actor(camille), camille, app, "patient/Observation.read", purposes=["mesures"]
    )
    assert AppGrant.objects.filter(patient=camille, application=app).get() == renewed
    assert renewed.scopes == "patient/Observation.rs"  # stored as SMART v2
    [archived] = ArchivedAppGrant.objects.filter(patient=camille)
    assert (archived.ending, archived.scopes) == (ArchivedAppGrant.Ending.REPLACED, DOCUMENTS)


def test_a_grant_needs_data_scopes_and_a_future_end(camille):
    app = make_application()
    marie = patient_actor(camille)
    for scopes in ("openid profile", "user/*.rs system/*.rs", "patient/Observation.rs?code=x"):
        with pytest.raises(AccessChangeRefused):
            grants.grant_app(marie, camille, app, scopes)
    with pytest.raises(AccessChangeRefused):
        grants.grant_app(marie, camille, app, DOCUMENTS, expires_at=timezone.now())
    assert not AppGrant.objects.filter(patient=camille).exists()


def test_an_app_acting_for_a_stranger_is_refused_even_on_a_granted_record(camille, her_document):
    app = make_app(camille, DOCUMENTS)  # Camille granted the app on her record
    stranger = make_stranger()
    actor = grants.app_actor(app, camille.id, stranger.id)  # but a stranger signed in to it
    with pytest.raises(NotAllowed):
        documents.access_document(actor, her_document.id)
    with pytest.raises(NotAllowed):
        documents.list_documents(actor, camille.id)
    # The stranger's own grant does not reach Camille's record either.
    make_app(stranger, DOCUMENTS, name="Autre application")
    with pytest.raises(NotAllowed):
        documents.access_document(grants.app_actor(app, stranger.id, stranger.id), her_document.id)


def test_the_grant_is_read_for_the_record_decided_not_the_one_launched(camille, her_document):
    """A representative's app granted on her own record does not reach her child's."""
    parent = camille
    child = make_person("Lou", "BERNARD", "M", birth=timezone.localdate().replace(year=2019))
    identity.declare_representative(child, parent)
    app = make_app(parent, DOCUMENTS)
    child_doc = documents.add_document(
        patient_actor(parent),
        child,
        SimpleUploadedFile("carnet.pdf", make_pdf()),
        NewDocument(title="Carnet", type_code="DOCPAT03", source=Document.Source.PATIENT),
    )
    actor = grants.app_actor(app, parent.id, parent.id)
    with pytest.raises(NotAllowed):
        documents.access_document(actor, child_doc.id)
    grants.grant_app(patient_actor(parent), child, app, DOCUMENTS)  # the parent grants for Lou
    assert documents.access_document(actor, child_doc.id).id == child_doc.id


def test_strangers_and_blocked_professionals_cannot_grant_or_revoke(camille):
    app = make_application()
    blocked = make_blocked_professional(camille)
    for intruder in (patient_actor(make_stranger()), pro_actor(blocked)):
        with pytest.raises(NotAllowed):
            grants.grant_app(intruder, camille, app, DOCUMENTS)
        with pytest.raises(NotAllowed):
            grants.revoke_app(intruder, camille, app)
    assert not AppGrant.objects.filter(patient=camille).exists()
    denied = AuditEntry.objects.filter(patient_id=camille.id, outcome="denied")
    actions = sorted(denied.values_list("action", flat=True))
    assert actions == ["app_grant", "app_grant", "app_revoke", "app_revoke"]


def test_the_blocked_professional_persona_reads_nothing(camille, her_document):
    blocked = make_blocked_professional(camille)
    with pytest.raises(NotAllowed):
        documents.access_document(pro_actor(blocked), her_document.id, Action.READ)


def test_the_history_names_the_app(camille, her_document):
    app = make_app(camille, DOCUMENTS)
    documents.access_document(grants.app_actor(app, camille.id, camille.id), her_document.id)
    grants.revoke_app(patient_actor(camille), camille, app)
    with pytest.raises(NotAllowed):
        documents.access_document(grants.app_actor(app, camille.id, camille.id), her_document.id)

    marie = patient_actor(camille)
    page = history.history_page(marie, camille.id, tab="professionnels")
    others = [item.sentence for item in page.items]
    assert any(
        s.startswith(f"L'application « {APP_NAME} » a consulté « Bilan sanguin »")
        and s.endswith("avec l'autorisation que vous avez donnée à cette application")
        for s in others
    ), others
    assert any(
        s.startswith(f"L'application « {APP_NAME} » a tenté d'accéder à « Bilan sanguin »")
        for s in others
    ), others
    mine = [i.sentence for i in history.history_page(marie, camille.id, tab="mes-actions").items]
    assert any(
        s.startswith(f"Vous avez autorisé l'application « {APP_NAME} » à accéder à votre dossier")
        for s in mine
    ), mine
    assert any(
        s.startswith(f"Vous avez retiré l'autorisation de l'application « {APP_NAME} »")
        for s in mine
    ), mine


def test_the_database_keeps_one_grant_per_patient_and_app(camille):
    app = make_app(camille, DOCUMENTS)
    with pytest.raises(IntegrityError), transaction.atomic():
        AppGrant.objects.create(
            patient=camille,
            application=app,
            scopes=DOCUMENTS,
            expires_at=timezone.now() + timedelta(days=1),
        )


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL seulement (écritures concurrentes)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_grants_leave_one_grant_and_archive_the_other():
    camille = make_person()
    app = make_application()
    start = threading.Barrier(4)
    errors = []

    def grant(scopes):
        try:
            start.wait()
            grants.grant_app(patient_actor(camille), camille, app, scopes)
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    wanted = ["patient/DocumentReference.rs", "patient/Observation.rs"] * 2
    threads = [threading.Thread(target=grant, args=(scopes,)) for scopes in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    [kept] = AppGrant.objects.filter(patient=camille, application=app)
    assert kept.scopes in wanted
    archived = ArchivedAppGrant.objects.filter(patient=camille)
    assert archived.count() == 3
    assert set(archived.values_list("ending", flat=True)) == {ArchivedAppGrant.Ending.REPLACED}
    assert AuditEntry.objects.filter(patient_id=camille.id, action="app_grant").count() == 4
