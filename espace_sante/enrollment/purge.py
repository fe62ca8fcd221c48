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

from django.db.models import ProtectedError

from espace_sante.access.owned import patient_owned_models
from espace_sante.crypto import blobs
from espace_sante.identity.models import Person


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
            raise RuntimeError("Des données de ce patient n'ont pas pu être supprimées.") from error
    Person.objects.filter(pk=person.pk).update(
        email="", mobile_phone="", address_line="", postal_code="", city=""
    )
