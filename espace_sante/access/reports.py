"""« Je ne reconnais pas cet accès » : the patient reports an entry of their history."""

import uuid

from django.db import transaction

from espace_sante.identity.models import Person

from . import audit, policy
from .history import mine_q
from .models import AccessReport, AuditEntry

COMMENT_MAX = 1000


def reportable_entry(
    actor: policy.Actor | None, patient_id: uuid.UUID | str, entry_id: uuid.UUID | str
) -> AuditEntry:
    """An entry of the titulaire's own history done by someone else (a person or an app,
    not the service's own automatic work); otherwise ``NotAllowed``.

    Not found and not allowed look the same (the view answers 404).
    """
    if not policy.is_titulaire(actor, patient_id):
        raise policy.NotAllowed
    entry = (
        AuditEntry.objects.filter(patient_id=patient_id, pk=entry_id)
        .exclude(mine_q(patient_id))
        .exclude(actor_kind=policy.ActorKind.SYSTEM)
        .first()
    )
    if entry is None:
        raise policy.NotAllowed
    return entry


@transaction.atomic
def report_access(
    actor: policy.Actor | None, patient: Person, entry_id: uuid.UUID | str, comment: str = ""
) -> AccessReport:
    """Record a report for operators (once per entry), traced in the audit trail."""
    entry = reportable_entry(actor, patient.id, entry_id)
    existing = AccessReport.objects.filter(patient=patient, entry=entry).first()
    if existing is not None:
        return existing
    report = AccessReport.objects.create(
        patient=patient, entry=entry, comment=(comment or "").strip()[:COMMENT_MAX]
    )
    audit.record(actor, "report", patient.id, obj=report, object_type="access_report")
    return report
