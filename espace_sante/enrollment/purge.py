"""Deleting a closed space's data once its keys are shredded.

Generic on purpose: the tables are the patient-owned ones
(``access.owned.patient_owned_models``), so a new kind of health record
(messages, appointments…) is covered as soon as its model inherits
``PatientOwned``, without a change here. A table whose rows must outlive the
space says so itself, with its reason, in ``kept_after_closing`` (the audit
trail and its chain heads, the shredded key row, the access-email outbox).
The lifecycle history (enrollment) and the identity are not patient-owned
health data and stay too.
"""

import logging

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from espace_sante.access.owned import patient_owned_models
from espace_sante.crypto import blobs
from espace_sante.identity.models import Person

from .lifecycle import Event, S, lock_person
from .models import Closure, SpaceTransition
from .notices import send_notice

logger = logging.getLogger(__name__)


def purged_models() -> list:
    """The patient-owned models the purge deletes, each before the tables it points at.

    A row is deleted before the rows it refers to (a message before its
    conversation, a document's events before the document), so no deletion
    waits on a cascade or trips over a protection between two purged tables.
    """
    remaining = [model for model in patient_owned_models() if not model.kept_after_closing]
    children = {
        model: {
            other
            for other in remaining
            if other is not model
            and any(
                field.is_relation and field.related_model is model
                for field in other._meta.concrete_fields
            )
        }
        for model in remaining
    }
    ordered: list = []
    while remaining:
        ready = [model for model in remaining if children[model] <= set(ordered)]
        if not ready:  # a cycle between tables: cascades (and the loop below) settle it
            ready = remaining[:1]
        ordered += ready
        remaining = [model for model in remaining if model not in ready]
    return ordered


def _rows(model, person: Person):
    return model._default_manager.filter(**{model.patient_field: person.pk})


def purge_patient_data(person: Person) -> None:
    """Delete every health row and blob of ``person``; call after crypto-shredding."""
    models = purged_models()
    for model in models:
        if any(f.name == "blob_name" for f in model._meta.concrete_fields):
            blobs.delete(_rows(model, person).values_list("blob_name", flat=True))
    for model in models:
        rows = _rows(model, person)
        # Rows of one table may protect each other (a replaced document points at
        # its successor): unlink them first, the whole set goes anyway.
        links = {
            field.name: None
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model is model and field.null
        }
        if links:
            rows.exclude(**{f"{name}__isnull": True for name in links}).update(**links)
        try:
            rows.delete()
        except ProtectedError as error:
            raise RuntimeError("Some of this patient's data could not be deleted.") from error
    Person.objects.filter(pk=person.pk).update(
        email="", mobile_phone="", address_line="", postal_code="", city=""
    )


def purge_closed_spaces(*, batch_size: int = 100, now=None) -> int:
    """Delete the data of the closed spaces whose archive period (or deletion delay) is over.

    Crypto-shreds the person's keys first (nothing of theirs decrypts any
    more, whatever copies remain), then removes the blobs and the rows of
    their health data. The Person and the lifecycle history stay, without
    contact details. Idempotent; SKIP LOCKED for several workers.
    """
    purged = 0
    while True:
        at = now or timezone.now()
        with transaction.atomic():
            closures = list(
                Closure.objects.select_for_update(skip_locked=True)
                .filter(purge_after__lte=at, purged_at__isnull=True)
                .select_related("patient")[:batch_size]
            )
            if not closures:
                break
            for closure in closures:
                person = lock_person(closure.patient_id)
                if person.space_state != S.CLOSED:
                    continue
                email = person.email
                _shred_and_purge(person)
                closure.purged_at = at
                closure.save(update_fields=["purged_at"])
                SpaceTransition.objects.create(
                    patient=person,
                    event=Event.DELETED,
                    from_state=S.CLOSED,
                    to_state=S.CLOSED,
                    note="clés détruites, documents et données effacés",
                )
                if email:
                    try:
                        send_notice(person, "deleted", email)
                    except Exception:  # noqa: BLE001 (the deletion stands)
                        logger.exception("deletion notice could not be sent")
                purged += 1
    return purged


def _shred_and_purge(person: Person) -> None:
    from espace_sante.crypto.services import shred

    shred(person.pk)
    purge_patient_data(person)
