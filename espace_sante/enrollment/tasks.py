"""Background work of the opt-out lifecycle (django-tasks; ``espace-sante worker``).

Every task is idempotent and safe on two workers: the services lock the rows
they work on with SKIP LOCKED and the state of each row is the checkpoint,
so a task run twice, or crashed and run again, does each thing once.
"""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from . import creation, imports, invitations, purge
from .lifecycle import S
from .models import Beneficiary, Campaign


@task()
def send_invitations(campaign_id: str) -> dict:
    """Emails first (failures fall back to letters), then the letter PDFs.

    Enqueues itself again for the next email retry, and the automatic
    creation for when the objection delay of these invitations ends.
    """
    campaign = Campaign.objects.get(pk=campaign_id)
    done = invitations.send_invitation_emails(campaign)
    batches = invitations.build_letter_batches(campaign)
    done["letter_batches"] = len(batches)
    retry = invitations.next_email_retry(campaign)
    if retry is not None:
        send_invitations.using(run_after=retry).enqueue(campaign_id)
    if done["sent"] or batches:
        due = timezone.now() + timedelta(days=campaign.objection_days)
        create_due_spaces.using(run_after=due).enqueue()
    return done


@task()
def create_due_spaces() -> int:
    """Create the spaces whose delay has passed; enqueue the next run when more are due."""
    created = creation.create_due_spaces()
    later = (
        Beneficiary.objects.filter(person__space_state=S.INVITED, auto_create_after__isnull=False)
        .order_by("auto_create_after")
        .values_list("auto_create_after", flat=True)
        .first()
    )
    if later is not None:
        create_due_spaces.using(run_after=max(later, timezone.now())).enqueue()
    return created


@task()
def purge_closed_spaces() -> int:
    """Delete the data of closed spaces whose archive period or deletion delay is over."""
    return purge.purge_closed_spaces()


@task()
def import_file(campaign_id: str, path: str, file_name: str) -> str:
    """Import a file uploaded by an operator, then delete it; returns the report's id."""
    from pathlib import Path

    campaign = Campaign.objects.get(pk=campaign_id)
    source = Path(path)
    if not source.exists():  # already imported by an earlier run of this task
        return ""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        report = imports.import_beneficiaries(campaign, handle, file_name=file_name)
    source.unlink(missing_ok=True)
    return str(report.pk)
