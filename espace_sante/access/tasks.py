from django_tasks import task

from . import emails


@task()
def send_access_notification(notification_id: str) -> bool:
    """Send one access email (idempotent: a notification already sent is not sent again)."""
    return emails.deliver(notification_id)
