from django_tasks import task

from . import notifications


@task()
def send_access_notification(notification_id: str) -> bool:
    """Send one access email (idempotent: a notification already sent is not sent again)."""
    return notifications.deliver(notification_id)
