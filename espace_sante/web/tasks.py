"""Periodic tasks that belong to no single app (scheduled by ``web/schedule.py``)."""

from django_tasks import task


@task()
def create_due_spaces() -> int:
    """Create the spaces whose objection delay has passed (hourly safety net, idempotent).

    Not ``enrollment.tasks.create_due_spaces``: that one enqueues itself again for the next
    due time, and an hourly run of it would start a new chain every hour.
    """
    from espace_sante.enrollment import creation

    return creation.create_due_spaces()
