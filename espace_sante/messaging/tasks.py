from django_tasks import task

from . import retention


@task()
def apply_retention() -> int:
    """Warn, then delete conversations past the retention period, and orphan blobs (idempotent)."""
    retention.warn_before_retention()
    removed = retention.apply_retention()
    retention.sweep_orphan_attachments()
    return removed
