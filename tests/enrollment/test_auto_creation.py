"""Automatic creation: in batches, resumable after a crash, never twice (two workers)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from espace_sante.enrollment import creation, services
from espace_sante.enrollment.models import Beneficiary, SpaceTransition
from espace_sante.identity.models import Person, SpaceState

from .support import csv_lines, person_row


def informed_population(campaign, count: int):
    """``count`` people informed 43 days ago: all due for automatic creation."""
    rows = [person_row(i, email=False) for i in range(1, count + 1)]
    services.import_beneficiaries(campaign, csv_lines(rows))
    past = timezone.now() - timedelta(days=43)
    Beneficiary.objects.update(
        delivery="letter_printed", informed_at=past, auto_create_after=past + timedelta(days=42)
    )


class Crash(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_crash_in_the_middle_of_a_batch_loses_nothing_and_duplicates_nothing(campaign):
    informed_population(campaign, 25)
    seen = []

    def crash_at_the_13th(person):
        seen.append(person.pk)
        if len(seen) == 13:
            raise Crash

    with pytest.raises(Crash):
        services.create_due_spaces(batch_size=10, after_each=crash_at_the_13th)
    # The first batch (10) committed; the second rolled back entirely.
    assert Person.objects.filter(space_state=SpaceState.CREATED).count() == 10
    assert SpaceTransition.objects.filter(event="auto_created").count() == 10

    assert services.create_due_spaces(batch_size=10) == 15
    assert Person.objects.filter(space_state=SpaceState.CREATED).count() == 25
    per_person = SpaceTransition.objects.filter(event="auto_created").values_list(
        "patient_id", flat=True
    )
    assert len(per_person) == len(set(per_person)) == 25


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_create_each_space_exactly_once(campaign):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED et workers concurrents : PostgreSQL seulement")
    informed_population(campaign, 60)
    counts = []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            counts.append(services.create_due_spaces(batch_size=7))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 60
    created = list(
        SpaceTransition.objects.filter(event="auto_created").values_list("patient_id", flat=True)
    )
    assert len(created) == len(set(created)) == 60
    assert not Person.objects.filter(space_state=SpaceState.INVITED).exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_creates_due_spaces_and_tells_the_person(campaign, smtp_server):
    from espace_sante.enrollment.tasks import create_due_spaces

    from .conftest import run_worker

    services.import_beneficiaries(campaign, csv_lines([person_row(1)]))
    past = timezone.now() - timedelta(days=43)
    Beneficiary.objects.update(
        delivery="email_sent", informed_at=past, auto_create_after=past + timedelta(days=42)
    )
    create_due_spaces.enqueue()
    run_worker()
    assert Person.objects.get().space_state == SpaceState.CREATED
    notice = smtp_server.wait_for("personne1@exemple.test")
    assert "a été créé" in smtp_server.body(notice)


@pytest.mark.django_db(transaction=True)
def test_someone_without_email_is_told_by_sms_that_the_space_was_created(campaign, caplog):
    from espace_sante.enrollment.tasks import create_due_spaces

    from .conftest import run_worker

    row = person_row(1, email=False, telephone="06 12 34 56 78")
    services.import_beneficiaries(campaign, csv_lines([row, person_row(2, email=False)]))
    past = timezone.now() - timedelta(days=43)
    Beneficiary.objects.update(
        delivery="letter_printed", informed_at=past, auto_create_after=past + timedelta(days=42)
    )
    create_due_spaces.enqueue()
    with caplog.at_level("INFO", logger="espace_sante.sms"):
        run_worker()
    assert Person.objects.filter(space_state=SpaceState.CREATED).count() == 2
    sms = [r.getMessage() for r in caplog.records if r.name == "espace_sante.sms"]
    # One SMS, to the person with a mobile; nothing health-related in it.
    assert len(sms) == 1
    assert "a été créé" in sms[0] and "/activer/" in sms[0]


@pytest.mark.django_db(transaction=True)
def test_a_failed_creation_is_texted_at_once_to_someone_without_email(
    campaign, caplog, monkeypatch
):
    from .conftest import run_worker

    row = person_row(1, email=False, telephone="07 12 34 56 78")
    services.import_beneficiaries(campaign, csv_lines([row]))
    past = timezone.now() - timedelta(days=43)
    Beneficiary.objects.update(
        delivery="letter_printed", informed_at=past, auto_create_after=past + timedelta(days=42)
    )

    def broken_keys(person):
        raise Crash("key store unavailable")

    monkeypatch.setattr(creation, "ensure_space_keys", broken_keys)
    assert services.create_due_spaces(batch_size=10) == 0
    with caplog.at_level("INFO", logger="espace_sante.sms"):
        run_worker()
    assert Person.objects.get().space_state == SpaceState.INVITED
    sms = [r.getMessage() for r in caplog.records if r.name == "espace_sante.sms"]
    assert len(sms) == 1 and "n'a pas abouti" in sms[0]
