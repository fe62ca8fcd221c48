"""Patient-owned tables: one registry read by the guard test, the purge and a system check.

Rule 2 of the architecture ("Patient-scoped data"): every table holding a
patient's health or access data has a non-null patient column, every index
and unique constraint starts with it (ready for sharding by patient, Citus'
distribution column), and every query on it names one patient.

A model declares it by inheriting ``PatientOwned`` (an abstract model with no
field: each model keeps its own ``patient`` foreign key, so inheriting it
changes no migration). Two class attributes say the rest:

- ``patient_field``: the name of the patient column when it is not
  ``patient`` (the audit trail keeps a bare ``patient_id`` UUID, no foreign
  key, so that it outlives the person's rows);
- ``kept_after_closing``: empty when the purge of a closed space deletes the
  rows; otherwise the reason they stay.

``patient_owned_models()`` lists every concrete subclass; ``check_patient_owned``
is the system check (``access.E001``…, registered by ``AccessConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.fields.reverse_related import ForeignObjectRel

from espace_sante.identity.owned import PatientOwned

__all__ = ["PatientOwned", "patient_owned_models", "check_patient_owned"]


def patient_owned_models() -> list[type[PatientOwned]]:
    """Every concrete patient-owned model, in the app registry's order."""
    return [model for model in apps.get_models() if issubclass(model, PatientOwned)]


# Indexes and unique columns that do not start with the patient column, on
# purpose. Key: "app_label.ModelName:index name" (or ":field name" for a
# single-column ``unique=True`` / one-to-one field). Each needs a reason; a new
# entry is a design decision, not a way to silence the check.
ALLOWED_EXCEPTIONS: dict[str, str] = {
    # Storage keys are unique across the whole store (two rows must never share a
    # blob). The name starts with the patient id, so (patient, blob_name) would be
    # as strict; moving to it is a non-data-losing migration left for the sharding
    # work (Citus wants the distribution column in every unique index).
    "record.Document:blob_name": "blob name unique across the whole store (object key)",
    "messaging.Attachment:blob_name": "blob name unique across the whole store (object key)",
    # One order per conversation; both rows belong to the same patient (written
    # together by pharmacy.services).
    "pharmacy.PrescriptionOrder:conversation": "one order per conversation, same patient",
    # Professionals' and organisations' inboxes span patients by nature.
    "messaging.Conversation:conv_pro": "a professional's inbox (all patients)",
    "messaging.Conversation:conv_organization": "an organisation's inbox (all patients)",
    "pharmacy.PrescriptionOrder:rx_pharmacy_status": "a pharmacy's queue (all patients)",
    # Background sweep of inactive conversations (retention), across patients.
    "messaging.Conversation:conv_retention": "retention sweep (background task)",
    # Rate limits count what one author wrote, whoever the patient.
    "messaging.Message:msg_rate_pro": "rate limit per professional (all patients)",
    "messaging.Message:msg_rate_person": "rate limit per person (all patients)",
    # The operators' queue of new reports.
    "access.AccessReport:report_status": "the operators' queue of reports",
    # Idempotency keys are their sender's (IETF draft): one reused for another patient
    # is refused, found by (sender, key); expired keys are purged across patients.
    "record.DepositKey:depositkey_sender_key": "a key reused by its sender for another patient",
    "record.DepositKey:depositkey_created_at": "purge of expired idempotency keys (task)",
    # The agenda's daily job: tomorrow's appointments, and the persons whose
    # reminders may have changed today (a date, no content), across patients.
    "agenda.Appointment:agenda_appt_reminder": "day-before reminders (daily job)",
    "agenda.ReminderSchedule:agenda_schedule_next": "prevention reminders due (daily job)",
    # Key rotation re-wraps every row whose KEK differs from the current one.
    "crypto.PatientKeys:crypto_keys_kek_key_id": "rotation of the key-encryption key",
}


def _patient_column(model: type[PatientOwned]) -> models.Field[Any, Any] | ForeignObjectRel | None:
    try:
        return model._meta.get_field(model.patient_field)
    except FieldDoesNotExist:
        return None


def _first_field(
    model: type[PatientOwned], name: str
) -> models.Field[Any, Any] | ForeignObjectRel | None:
    name = name.lstrip("-")
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _starts_with_patient(
    model: type[PatientOwned],
    patient: models.Field[Any, Any] | ForeignObjectRel,
    names: Iterable[str],
) -> bool:
    listed = list(names)
    return bool(listed) and _first_field(model, listed[0]) is patient


def problems(
    model: type[PatientOwned], allowed: dict[str, str] | None = None
) -> list[checks.CheckMessage]:
    """What ``model`` (a PatientOwned subclass) breaks of rule 2."""
    allowed = ALLOWED_EXCEPTIONS if allowed is None else allowed
    label = f"{model._meta.app_label}.{model.__name__}"
    found: list[checks.CheckMessage] = []
    patient = _patient_column(model)
    if patient is None or not patient.concrete:
        return [
            checks.Error(
                f"{label} inherits PatientOwned without a patient column '{model.patient_field}'.",
                hint="Add a non-null patient field, or set patient_field.",
                obj=model,
                id="access.E001",
            )
        ]
    if patient.null:
        found.append(
            checks.Error(
                f"{label}.{patient.name} is nullable: every row belongs to a patient.",
                obj=model,
                id="access.E002",
            )
        )

    def refuse(key: str, what: str) -> None:
        if f"{label}:{key}" in allowed:
            return
        found.append(
            checks.Error(
                f"{label}: {what} does not start with '{patient.name}'.",
                hint=(
                    "Put the patient first, or add an exception with its reason to "
                    "espace_sante.access.owned.ALLOWED_EXCEPTIONS."
                ),
                obj=model,
                id="access.E003",
            )
        )

    meta = model._meta
    for index in meta.indexes:
        if index.expressions or not _starts_with_patient(model, patient, index.fields):
            refuse(index.name, f"index {index.name}")
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and (
            constraint.expressions or not _starts_with_patient(model, patient, constraint.fields)
        ):
            refuse(constraint.name, f"unique constraint {constraint.name}")
    for fields in meta.unique_together:
        if not _starts_with_patient(model, patient, fields):
            refuse(",".join(fields), f"unique_together {tuple(fields)}")
    for fields in getattr(meta, "index_together", ()):  # gone in Django 5.1, kept for safety
        if not _starts_with_patient(model, patient, fields):
            refuse(",".join(fields), f"index_together {tuple(fields)}")
    for field in meta.concrete_fields:
        if field is patient or field.primary_key:
            continue
        # A foreign key's own index is allowed (joins); a plain db_index or a
        # unique column is an index that does not start with the patient.
        if field.unique:
            refuse(field.name, f"unique field {field.name}")
        # Field.db_index is missing from the stubs.
        elif field.db_index and not field.is_relation:  # type: ignore[attr-defined]
            refuse(field.name, f"the index of field {field.name}")
    return found


def check_patient_owned(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """System check: every patient-owned table is scoped and indexed by patient."""
    found: list[checks.CheckMessage] = []
    labels = None if app_configs is None else {config.label for config in app_configs}
    for model in patient_owned_models():
        if labels is None or model._meta.app_label in labels:
            found += problems(model)
    if labels is None:
        found += stale_exceptions()
    return found


def stale_exceptions(allowed: dict[str, str] | None = None) -> list[checks.CheckMessage]:
    """Exceptions that excuse nothing any more (the index or the model is gone)."""
    allowed = ALLOWED_EXCEPTIONS if allowed is None else allowed
    used = set()
    for model in patient_owned_models():
        label = f"{model._meta.app_label}.{model.__name__}"
        names = {index.name for index in model._meta.indexes}
        names |= {constraint.name for constraint in model._meta.constraints}
        names |= {field.name for field in model._meta.concrete_fields}
        used |= {f"{label}:{name}" for name in names}
    return [
        checks.Warning(
            f"Exception '{key}' no longer matches anything: remove it.",
            obj=key,
            id="access.W001",
        )
        for key in sorted(set(allowed) - used)
    ]
