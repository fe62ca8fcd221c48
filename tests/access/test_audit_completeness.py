"""Each service call that reads or writes health data writes exactly one audit entry."""

import pytest

from espace_sante.access.models import AuditEntry
from espace_sante.access.policy import Action, NotAllowed, actor_for_user
from espace_sante.record.documents import services as documents

from .audit_support import add_document, pro_actor, verify

pytestmark = pytest.mark.django_db


def entries(patient):
    return list(AuditEntry.objects.filter(patient_id=patient.id).order_by("sequence"))


class Counter:
    def __init__(self, patient):
        self.patient = patient
        self.seen = len(entries(patient))

    def new(self) -> list[AuditEntry]:
        found = entries(self.patient)
        added, self.seen = found[self.seen :], len(found)
        return added


@pytest.fixture
def marie(personas):
    return actor_for_user(personas.mother.user)


def test_each_document_service_writes_exactly_one_entry(personas, marie):
    counter = Counter(personas.mother)

    document = add_document(personas, title="Bilan sanguin")
    [created] = counter.new()
    assert (created.action, created.object_id, created.outcome) == (
        "create",
        document.id,
        "allowed",
    )

    documents.access_document(marie, document.id)
    [read] = counter.new()
    assert (read.action, read.object_id) == ("read", document.id)

    documents.list_documents(marie, personas.mother.id)
    [listed] = counter.new()
    assert (listed.action, listed.object_type) == ("list", "document")

    documents.document_page(marie, personas.mother.id)
    [paged] = counter.new()
    assert paged.action == "list"

    editable = documents.access_document(marie, document.id, Action.UPDATE)
    assert counter.new() == []  # checking the right to edit is not itself an access
    documents.update_document(marie, editable, title="Bilan sanguin de mars")
    [updated] = counter.new()
    assert (updated.action, updated.object_id) == ("update", document.id)

    documents.set_masked(marie, editable, True)
    [masked] = counter.new()
    assert (masked.action, masked.reason) == ("mask", "masqué")

    documents.delete_document(marie, editable)
    [deleted] = counter.new()
    assert (deleted.action, deleted.object_id) == ("delete", document.id)

    intact, printed = verify(personas.mother)
    assert intact, printed


def test_a_refusal_writes_exactly_one_entry_too(personas):
    document = add_document(personas)
    counter = Counter(personas.mother)
    stranger = actor_for_user(personas.elder.user)
    with pytest.raises(NotAllowed):
        documents.access_document(stranger, document.id)
    [refused] = counter.new()
    assert (refused.action, refused.outcome, refused.actor_person_id) == (
        "read",
        "denied",
        personas.elder.id,
    )
    with pytest.raises(NotAllowed):
        documents.list_documents(pro_actor(personas.pharmacist), personas.mother.id)
    [refused_list] = counter.new()
    assert (refused_list.action, refused_list.outcome) == ("list", "denied")


def test_a_professional_read_records_why_it_was_allowed(personas):
    document = add_document(personas)
    counter = Counter(personas.mother)
    documents.access_document(pro_actor(personas.gp), document.id)
    [read] = counter.new()
    assert (read.actor_kind, read.mode, read.actor_professional_id) == (
        "professional",
        "medecin_traitant",
        personas.gp.id,
    )
