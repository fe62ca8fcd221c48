"""The same tasks on Redis (django-tasks-rq), against the server at 127.0.0.1:6379.

Skipped when no Redis answers there. The queue lives in Redis database 13,
emptied before and after, so a Redis shared with others is not disturbed.
"""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Beneficiary
from espace_sante.identity.models import Person, SpaceState

from .support import csv_lines, person_row

REDIS = ("127.0.0.1", 6379)


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not redis_answers(), reason="Redis ne répond pas sur 127.0.0.1:6379"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def rq_backend(settings):
    pytest.importorskip("django_tasks_rq")
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/13"}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    import django_rq

    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield
    connection.flushdb()


def work_once():
    import django_rq
    from django_tasks_rq import Job
    from rq import SimpleWorker

    # SimpleWorker: in this process (no fork), so it sees the test database.
    django_rq.get_worker("default", job_class=Job, worker_class=SimpleWorker).work(burst=True)


def test_automatic_creation_and_the_notice_run_on_redis(rq_backend, campaign, smtp_server):
    from espace_sante.enrollment.tasks import create_due_spaces

    services.import_beneficiaries(campaign, csv_lines([person_row(1), person_row(2)]))
    past = timezone.now() - timedelta(days=43)
    Beneficiary.objects.update(
        delivery="email_sent", informed_at=past, auto_create_after=past + timedelta(days=42)
    )
    result = create_due_spaces.enqueue()
    work_once()  # the creation, which enqueues the two notices
    work_once()  # the notices
    assert result.backend == "default"
    assert set(Person.objects.values_list("space_state", flat=True)) == {SpaceState.CREATED}
    assert "a été créé" in smtp_server.body(smtp_server.wait_for("personne2@exemple.test"))
    # Run again: nothing more to create, nothing created twice.
    create_due_spaces.enqueue()
    work_once()
    assert Person.objects.filter(space_transitions__event="auto_created").count() == 2
