"""Deleting a closed space's data once its keys are shredded.

Generic on purpose: every model of the apps that hold health data with a
``patient`` foreign key to Person is purged, so a new kind of health record
(messages, appointments…) is covered without a change here. The audit trail
and the lifecycle history stay (they hold no health content and the audit
trail is append-only).
"""

from django.apps import apps
from django.core.files.storage import storages
from django.db.models import ProtectedError

from espace_sante.identity.models import Person

KEPT_APPS = {"enrollment", "identity"}
KEPT_MODELS = {("access", "auditentry"), ("access", "audithead"), ("crypto", "patientkeys")}


def _patient_models():
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label in KEPT_APPS or (meta.app_label, meta.model_name) in KEPT_MODELS:
            continue
        field = next((f for f in meta.concrete_fields if f.name == "patient"), None)
        if field is not None and field.is_relation and field.related_model is Person:
            yield model


def purge_patient_data(person: Person) -> None:
    """Delete every health row and blob of ``person``; call after crypto-shredding."""
    models = list(_patient_models())
    blobs = storages["blobs"]
    for model in models:
        if any(f.name == "blob_name" for f in model._meta.concrete_fields):
            for name in model.objects.filter(patient=person).values_list("blob_name", flat=True):
                if name and blobs.exists(name):
                    blobs.delete(name)
    # Rows may protect each other (a replaced document points at its successor):
    # delete what can be deleted until nothing is left.
    remaining = models
    for _ in range(len(models) + 1):
        blocked = []
        for model in remaining:
            try:
                model.objects.filter(patient=person).delete()
            except ProtectedError:
                blocked.append(model)
        if not blocked:
            break
        remaining = blocked
    else:
        raise RuntimeError("Des données de ce patient n'ont pas pu être supprimées.")
    Person.objects.filter(pk=person.pk).update(
        email="", mobile_phone="", address_line="", postal_code="", city=""
    )
