"""Twenty identical changes of one document at once (documents.md): one change, traced once.

A double click, a retry after a lost answer, two tabs: the document is added
once, masked once, deleted once, withdrawn once; every caller is told the
outcome that holds, and the history has one line per real change.
"""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from espace_sante.access.models import AuditEntry
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import DepositKey, Document
from tests.access.audit_support import pro_actor
from tests.personas import make_person, make_professional, patient_actor
from tests.record.conftest import make_pdf

from .parallel import ON_POSTGRES, PARALLEL, race_of

pytestmark = [ON_POSTGRES, pytest.mark.django_db(transaction=True)]

RECEIVED_AGAIN = "déjà reçu (même clé d'idempotence) : rien n'a été ajouté"


def traced(patient, action: str, **more) -> int:
    return AuditEntry.objects.filter(
        patient_id=patient.id, action=action, outcome="allowed", **more
    ).count()


def her_document(camille, title="Bilan sanguin") -> Document:
    return documents.add_document(
        patient_actor(camille),
        camille,
        SimpleUploadedFile("analyse.pdf", make_pdf(title)),
        documents.NewDocument(title=title, type_code="DOCPAT03", source=Document.Source.PATIENT),
    )


def test_twenty_uploads_with_one_token_add_one_document():
    """The upload form's one-time token sent twenty times at once (double clicks, retries)."""
    camille = make_person()
    pdf = make_pdf("Ordonnance")
    once = documents.Idempotency(
        sender=f"user:{camille.user_id}",
        key=str(uuid.uuid4()),
        fingerprint=documents.fingerprint(b"Ordonnance", pdf),
    )

    def upload():
        actor = patient_actor(camille)
        meta = documents.NewDocument(
            title="Ordonnance", type_code="DOCPAT03", source=Document.Source.PATIENT
        )
        return documents.deposit_once(
            actor,
            camille,
            once,
            lambda: documents.Deposit(
                documents.add_document(
                    actor, camille, SimpleUploadedFile("ordonnance.pdf", pdf), meta
                ),
                created=True,
            ),
        ).document

    race = race_of(upload)
    orphans = documents.sweep_orphan_blobs(older_than_seconds=0)
    race.report(
        "dépôt, même jeton",
        documents=Document.objects.filter(patient=camille).count(),
        cles=DepositKey.objects.filter(patient=camille).count(),
        audit_depots=traced(camille, "create") - traced(camille, "create", reason=RECEIVED_AGAIN),
        blobs_orphelins=orphans,
    )
    assert race.errors == []
    assert Document.objects.filter(patient=camille).count() == 1
    assert {document.pk for document in race.results} == {Document.objects.get().pk}
    # One deposit in her history; the retries are traced as received again, nothing added.
    assert traced(camille, "create") - traced(camille, "create", reason=RECEIVED_AGAIN) == 1
    # The losers' encrypted bytes are not left on disk.
    assert orphans == 0


def test_twenty_maskings_at_once_are_traced_once():
    camille = make_person()
    document = her_document(camille)
    race = race_of(
        lambda: documents.set_masked(
            patient_actor(camille), Document.objects.get(pk=document.pk), True
        )
    )
    race.report("masquage", audit=traced(camille, "mask"))
    assert race.errors == []
    assert Document.objects.get(pk=document.pk).masked_from_professionals
    assert traced(camille, "mask") == 1


def test_masking_and_unmasking_at_once_leave_the_history_true():
    """Ten « masquer » and ten « afficher »: the history tells each change that happened."""
    camille = make_person()
    document = her_document(camille)
    race = race_of(
        lambda index: documents.set_masked(
            patient_actor(camille), Document.objects.get(pk=document.pk), index % 2 == 0
        )
    )
    final = Document.objects.get(pk=document.pk).masked_from_professionals
    reasons = list(
        AuditEntry.objects.filter(patient_id=camille.id, action="mask")
        .order_by("sequence")
        .values_list("reason", flat=True)
    )
    race.report("masquer et afficher mêlés", audit=len(reasons), masque=final)
    assert race.errors == []
    # Each line is a change: « masqué » and « démasqué » alternate, the last one holds.
    assert all(before != after for before, after in zip(reasons, reasons[1:], strict=False))
    if reasons:
        assert reasons[-1] == ("masqué" if final else "démasqué")
    else:
        assert final is False


def test_twenty_deletions_at_once_delete_once():
    camille = make_person()
    document = her_document(camille)
    # Each request found the document on the confirmation page before any deletion.
    pages = [Document.objects.get(pk=document.pk) for _ in range(PARALLEL)]
    race = race_of(lambda index: documents.delete_document(patient_actor(camille), pages[index]))
    race.report(
        "suppression",
        documents=Document.objects.filter(patient=camille).count(),
        audit=traced(camille, "delete"),
    )
    # Everyone is told it is deleted, which is true; one deletion in her history.
    assert race.errors == []
    assert not Document.objects.filter(pk=document.pk).exists()
    assert traced(camille, "delete") == 1


def test_twenty_withdrawals_by_the_author_withdraw_once():
    camille, doctor = make_person(), make_professional()
    actor = pro_actor(doctor)
    document = documents.add_document(
        actor,
        camille,
        SimpleUploadedFile("cr.pdf", make_pdf("CR")),
        documents.NewDocument(
            title="Compte rendu",
            type_code="11490-0",
            source=Document.Source.PROFESSIONAL,
            author_professional=doctor,
        ),
    )
    race = race_of(lambda: documents.withdraw_document(actor, Document.objects.get(pk=document.pk)))
    race.report("retrait par l'auteur", audit=traced(camille, "withdraw"))
    assert race.errors == []
    assert Document.objects.get(pk=document.pk).status == Document.Status.WITHDRAWN
    assert traced(camille, "withdraw") == 1


def test_twenty_identical_metadata_updates_by_software_are_traced_once():
    """PDSm metadata update (FHIR PATCH) sent twenty times: one change."""
    camille, doctor = make_person(), make_professional()
    actor = pro_actor(doctor)
    document = documents.add_document(
        actor,
        camille,
        SimpleUploadedFile("cr.pdf", make_pdf("CR")),
        documents.NewDocument(
            title="Compte rendu",
            type_code="11490-0",
            source=Document.Source.PROFESSIONAL,
            author_professional=doctor,
        ),
    )
    race = race_of(
        lambda: documents.update_deposit(
            actor, Document.objects.get(pk=document.pk), documents.DepositChange(archived=True)
        )
    )
    changes = traced(camille, "update")
    race.report("mise à jour des métadonnées", audit=changes)
    assert race.errors == []
    assert Document.objects.get(pk=document.pk).archived
    assert changes == 1


# --- The medical profile -------------------------------------------------------------


def assert_deleted_once(race, camille):
    """One deletion in her history; each request told « C'est supprimé », or, arriving
    after the deletion was committed, that the entry no longer exists (404: true)."""
    from espace_sante.access.policy import NotAllowed

    assert all(isinstance(error, NotAllowed) for error in race.errors)
    assert traced(camille, "delete") == 1


def test_twenty_deletions_of_a_profile_entry_delete_it_once():
    from espace_sante.record.profile import services as profile

    camille = make_person()
    allergy = profile.add_entry(
        patient_actor(camille), camille, "allergies", {"substance": "Pénicilline"}
    )
    race = race_of(
        lambda: profile.delete_entry(patient_actor(camille), camille, "allergies", allergy.pk)
    )
    race.report("suppression d'une allergie", audit=traced(camille, "delete"))
    assert_deleted_once(race, camille)


def test_twenty_erasures_of_the_blood_group_erase_it_once():
    from espace_sante.record.profile import services as profile

    camille = make_person()
    profile.set_blood_group(patient_actor(camille), camille, "O-")
    race = race_of(lambda: profile.clear_singleton(patient_actor(camille), camille, "blood_group"))
    race.report("effacement du groupe sanguin", audit=traced(camille, "delete"))
    assert race.errors == []
    assert profile.get_singleton(patient_actor(camille), camille, "blood_group") is None
    assert traced(camille, "delete") == 1


def test_twenty_blood_group_saves_at_once_keep_one_row():
    from espace_sante.record.models import BloodGroup
    from espace_sante.record.profile import services as profile

    camille = make_person()
    race = race_of(lambda: profile.set_blood_group(patient_actor(camille), camille, "AB+"))
    race.report(
        "groupe sanguin enregistré", lignes=BloodGroup.objects.filter(patient=camille).count()
    )
    assert race.errors == []
    assert BloodGroup.objects.filter(patient=camille).count() == 1


def test_twenty_deletions_of_a_measure_delete_it_once():
    from espace_sante.record.profile import services as profile

    camille = make_person()
    weight = profile.add_measure(
        patient_actor(camille), camille, "29463-7", {"value": "72,5", "date": "2025-03-01"}
    )
    race = race_of(lambda: profile.delete_measure(patient_actor(camille), camille, weight.pk))
    race.report("suppression d'une mesure", audit=traced(camille, "delete"))
    assert_deleted_once(race, camille)
