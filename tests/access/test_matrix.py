"""The access matrix: shipped as data, complete, loaded once, editable by operators."""

import pytest
from django.contrib.admin.models import LogEntry

from espace_sante.access.consent_models import MatrixCell, MatrixVersion
from espace_sante.access.matrix import MATRIX_FILE, load_matrix, read_matrix_file
from espace_sante.access.policy import Action, Actor, ActorKind, can
from espace_sante.identity.models import User
from espace_sante.identity.reference import PROFESSIONS
from espace_sante.record.documents.models import Document
from espace_sante.record.documents.reference import document_types
from tests.signin import OPERATOR_TOTP_SECRET, sign_in_with_totp

pytestmark = pytest.mark.django_db


def test_the_shipped_file_has_every_profession_and_every_document_type():
    version, cells = read_matrix_file()
    assert version >= 1
    assert {p for p, _ in cells} == {code for code, _ in PROFESSIONS}
    assert {t for _, t in cells} == set(document_types())
    assert len(cells) == len(PROFESSIONS) * len(document_types())


def test_it_is_loaded_after_migrate_and_not_reloaded_over_operator_edits():
    assert MatrixCell.objects.count() == len(PROFESSIONS) * len(document_types())
    assert MatrixVersion.objects.get().source == MATRIX_FILE.name
    MatrixCell.objects.filter(profession="40", type_code="11502-2").update(allowed=False)
    assert load_matrix() is False  # same version: the operator's edit stays
    assert not MatrixCell.objects.get(profession="40", type_code="11502-2").allowed


def test_an_operator_edits_a_cell_in_the_admin_and_the_change_is_in_its_history(client, personas):
    operator = User.objects.create_superuser("operateur@demo.example", "x" * 16)
    sign_in_with_totp(client, operator, "x" * 16, OPERATOR_TOTP_SECRET)
    assert client.get("/admin/access/matrixcell/?profession=40").status_code == 200
    cell = MatrixCell.objects.get(profession="40", type_code="11502-2")
    response = client.post(
        f"/admin/access/matrixcell/{cell.pk}/change/",
        {"profession": "40", "type_code": "11502-2"},  # "allowed" unticked
    )
    assert response.status_code == 302
    assert LogEntry.objects.filter(object_id=str(cell.pk)).exists()
    assert client.get(f"/admin/access/matrixcell/{cell.pk}/history/").status_code == 200
    dentist_with_reason = Actor(
        ActorKind.PROFESSIONAL, professional_id=personas.gp.id, profession="40"
    )
    lab = Document(patient=personas.mother, type_code="11502-2", source="professional")
    # The edit applies at once (the dentist here borrows the GP's relation).
    assert not can(dentist_with_reason, Action.READ, personas.mother.id, lab)
