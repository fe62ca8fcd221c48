from django_tasks import task

from . import services


@task()
def sweep_orphan_blobs(older_than_seconds: int = 3600) -> int:
    """Background sweep of blobs left by interrupted uploads (idempotent)."""
    return services.sweep_orphan_blobs(older_than_seconds)


@task()
def purge_deposit_keys() -> int:
    """Delete the deposits' idempotency keys older than RECORD_IDEMPOTENCY_HOURS (idempotent)."""
    return services.purge_deposit_keys()
