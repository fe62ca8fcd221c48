from django_tasks import task

from . import services


@task()
def sweep_orphan_blobs(older_than_seconds: int = 3600) -> int:
    """Background sweep of blobs left by interrupted uploads (idempotent)."""
    return services.sweep_orphan_blobs(older_than_seconds)
