from django_tasks import task

from . import services


@task()
def send_message_notification(message_id: str) -> bool:
    """Email the patient about a new message (idempotent: sent once)."""
    return services.deliver_notification(message_id)


@task()
def apply_retention() -> int:
    """Warn, then delete conversations past the retention period, and orphan blobs (idempotent)."""
    services.warn_before_retention()
    removed = services.apply_retention()
    services.sweep_orphan_attachments()
    return removed
