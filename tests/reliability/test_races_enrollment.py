"""Twenty identical lifecycle requests at once (lifecycle.md): the machine moves once.

Provisional codes are guessed at most ENROLLMENT_CODE_MAX_FAILURES times, a
space is activated, closed or suspended once (one transition, one notice), an
address belongs to one account, and the campaign's workers invite, print and
create each person once.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Beneficiary, ProvisionalCode, SpaceTransition
from espace_sante.identity.models import Person, SpaceState, User
from tests.enrollment.conftest import run_worker
from tests.enrollment.support import csv_lines, person_row

from .parallel import ON_POSTGRES, PARALLEL, race_of

pytestmark = [ON_POSTGRES, pytest.mark.django_db(transaction=True)]

PASSWORD = "Un-mot-de-passe-solide-2026"


def invited(campaign, count: int, **overrides) -> list[tuple[dict, Person, str]]:
    """``count`` people imported in the campaign, each with a provisional code of their own."""
    rows = [person_row(500 + index, **overrides) for index in range(count)]
    services.import_beneficiaries(campaign, csv_lines(rows), file_name="course.csv")
    people = []
    for row in rows:
        person = Person.objects.get(ins_matricule=row["nir"])
        people.append((row, person, services.issue_code(person, 42)))
    return people


def reasons(race) -> list[str]:
    return sorted(getattr(error, "reason", type(error).__name__) for error in race.errors)


def test_twenty_wrong_codes_at_once_check_at_most_the_limit(campaign):
    [(row, person, code)] = invited(campaign, 1)
    wrong = [f"ZZZZ-ZZZZ-{index:04d}" for index in range(PARALLEL)]
    race = race_of(
        lambda index: services.check_code(row["nir"], row["numero_serie_carte"], wrong[index])
    )
    limit = settings.ENROLLMENT_CODE_MAX_FAILURES
    told = reasons(race)
    race.report(
        "codes provisoires erronés",
        verifies=told.count("mismatch") + 1,
        limite=limit,
    )
    # Each guess is counted before the next one is checked: the limit-th wrong code
    # locks the form, every other one is refused as locked without being compared.
    assert race.results == []
    assert told.count("mismatch") == limit - 1
    assert told.count("locked") == PARALLEL - (limit - 1)
    with pytest.raises(services.CodeRefused) as refused:  # even the right code, now
        services.check_code(row["nir"], row["numero_serie_carte"], code)
    assert refused.value.reason == "locked"


def test_twenty_activations_with_one_code_activate_once(campaign):
    """A double click (or twenty) on « Activer »: one account, everyone told it is activated."""
    [(row, person, code)] = invited(campaign, 1)
    check = services.check_code(row["nir"], row["numero_serie_carte"], code)
    race = race_of(
        lambda: services.activate(check, email="camille@exemple.test", password=PASSWORD)
    )
    activations = SpaceTransition.objects.filter(patient=person, event="activated")
    race.report(
        "activation, même code",
        kind=lambda activated: "activé",
        transitions=activations.count(),
        comptes=User.objects.filter(email="camille@exemple.test").count(),
    )
    assert race.errors == []
    assert activations.count() == 1
    assert User.objects.filter(email="camille@exemple.test").count() == 1
    person.refresh_from_db()
    assert person.space_state == SpaceState.ACTIVATED


def test_twenty_people_activating_with_one_address_give_it_to_one(campaign):
    people = invited(campaign, PARALLEL)
    checks = [
        services.check_code(row["nir"], row["numero_serie_carte"], code) for row, _, code in people
    ]
    race = race_of(
        lambda index: services.activate(
            checks[index], email="famille@exemple.test", password=PASSWORD
        )
    )
    race.report(
        "une adresse pour vingt personnes",
        kind=lambda activated: "activé",
        comptes=User.objects.filter(email__iexact="famille@exemple.test").count(),
    )
    # One account per address; the others are told the address is taken (never a 500).
    assert len(race.results) == 1
    assert [type(error).__name__ for error in race.errors] == ["EmailTaken"] * (PARALLEL - 1)
    assert User.objects.filter(email__iexact="famille@exemple.test").count() == 1
    assert Person.objects.filter(space_state=SpaceState.ACTIVATED).count() == 1


def test_twenty_closings_at_once_close_once_and_tell_once(campaign, smtp_server):
    [(row, person, code)] = invited(campaign, 1)
    check = services.check_code(row["nir"], row["numero_serie_carte"], code)
    services.activate(check, email="camille@exemple.test", password=PASSWORD)
    run_worker()  # the activation's own notice, if any, out of the way
    before = len(smtp_server.to("camille@exemple.test"))
    camille = User.objects.get(email="camille@exemple.test")
    # As the confirmation page does, for the signed-in titulaire.
    race = race_of(lambda: services.close_space(Person.objects.get(pk=person.pk), actor=camille))
    run_worker()
    closings = SpaceTransition.objects.filter(patient=person, event="closed")
    notices = len(smtp_server.to("camille@exemple.test")) - before
    race.report(
        "fermeture",
        kind=lambda closure: "fermé",
        transitions=closings.count(),
        courriels=notices,
    )
    # The confirmation page of every request says « fermé », which is true; one closing.
    assert race.errors == []
    assert closings.count() == 1
    assert notices == 1


def test_twenty_suspensions_by_operators_suspend_once(campaign, smtp_server):
    [(row, person, code)] = invited(campaign, 1)
    check = services.check_code(row["nir"], row["numero_serie_carte"], code)
    services.activate(check, email="camille@exemple.test", password=PASSWORD)
    run_worker()
    before = len(smtp_server.to("camille@exemple.test"))
    operator = User.objects.create_user(
        email="operateur@exemple.test", password=None, kind=User.Kind.OPERATOR
    )
    race = race_of(
        lambda: services.suspend_space(
            Person.objects.get(pk=person.pk), actor=operator, reason="Fraude signalée"
        )
    )
    run_worker()
    suspensions = SpaceTransition.objects.filter(patient=person, event="suspended")
    notices = len(smtp_server.to("camille@exemple.test")) - before
    race.report(
        "suspension",
        kind=lambda done: "suspendu",
        transitions=suspensions.count(),
        courriels=notices,
    )
    # The operators after the first are told it is already suspended (the console's words).
    assert len(race.results) == 1
    assert [type(error).__name__ for error in race.errors] == ["TransitionRefused"] * (PARALLEL - 1)
    assert suspensions.count() == 1
    assert notices == 1


def test_twenty_requests_for_a_new_code_leave_one_code_that_works(campaign, smtp_server):
    [(row, person, _)] = invited(campaign, 1)
    race = race_of(lambda: services.request_new_code(row["nir"], row["numero_serie_carte"]))
    usable = ProvisionalCode.objects.filter(
        person=person, used_at=None, revoked_at=None, expires_at__gt=timezone.now()
    )
    emails = smtp_server.to(row["courriel"])
    race.report("nouveau code", codes_valables=usable.count(), courriels=len(emails))
    assert race.errors == []
    # Each request sent a code and revoked the one before: only the last email's code works.
    assert usable.count() == 1
    import re

    last = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", smtp_server.body(emails[-1])).group(0)
    assert services.check_code(row["nir"], row["numero_serie_carte"], last).person == person


def test_twenty_workers_sending_invitations_email_each_person_once(campaign, smtp_server):
    people = invited(campaign, 30)
    Beneficiary.objects.update(delivery=Beneficiary.Delivery.PENDING)
    race = race_of(lambda: services.send_invitation_emails(campaign, batch_size=4))
    sent = sum(result["sent"] for result in race.results)
    per_person = [len(smtp_server.to(row["courriel"])) for row, _, _ in people]
    race.report(
        "invitations par 20 workers",
        kind=lambda done: "lot",
        envoyes=sent,
        courriels=sum(per_person),
        personnes=len(people),
    )
    assert race.errors == []
    assert per_person == [1] * len(people)


def test_twenty_workers_creating_due_spaces_create_each_once(campaign):
    people = invited(campaign, 40)
    past = timezone.now() - timedelta(days=43)
    Beneficiary.objects.update(
        delivery="letter_printed", informed_at=past, auto_create_after=past + timedelta(days=42)
    )
    race = race_of(lambda: services.create_due_spaces(batch_size=3))
    creations = SpaceTransition.objects.filter(event="auto_created")
    race.report(
        "création automatique par 20 workers",
        kind=lambda count: "lot",
        crees=sum(race.results),
        transitions=creations.count(),
        personnes=len(people),
    )
    assert race.errors == []
    assert sum(race.results) == len(people)
    assert creations.count() == len(people)
    assert creations.values("patient").distinct().count() == len(people)


def test_twenty_imports_of_one_file_import_each_line_once(campaign):
    rows = [person_row(700 + index) for index in range(25)]
    race = race_of(
        lambda: services.import_beneficiaries(campaign, csv_lines(rows), file_name="double.csv")
    )
    race.report(
        "import du même fichier 20 fois",
        kind=lambda report: "import",
        beneficiaires=Beneficiary.objects.filter(campaign=campaign).count(),
        personnes=Person.objects.count(),
    )
    assert race.errors == []
    assert Beneficiary.objects.filter(campaign=campaign).count() == len(rows)
    assert Person.objects.count() == len(rows)


def test_twenty_closing_codes_at_once_compare_at_most_three():
    """The 6-digit code that confirms a closing: 3 tries, even sent in parallel."""
    from django.core.cache import cache

    from tests.personas import make_person

    cache.clear()  # the cache table outlives a transactional test's flush
    camille = make_person()
    digest = services.send_closing_code(camille)
    race = race_of(lambda index: services.closing_code_matches(camille, digest, f"{index:06d}"))
    race.report(
        "codes de fermeture",
        kind=lambda matched: "comparé",
        compares=len(race.results),
        limite=services.CLOSING_CODE_ATTEMPTS,
    )
    assert len(race.results) == services.CLOSING_CODE_ATTEMPTS
    assert [type(error).__name__ for error in race.errors] == ["ClosingCodeLocked"] * (
        PARALLEL - services.CLOSING_CODE_ATTEMPTS
    )
    cache.clear()


def test_twenty_workers_printing_letters_print_each_letter_once(campaign):
    from espace_sante.enrollment.models import LetterBatch

    people = invited(campaign, 12, email=False)
    race = race_of(lambda: services.build_letter_batches(campaign, per_pdf=2))
    printed = Beneficiary.objects.filter(delivery=Beneficiary.Delivery.LETTER_PRINTED)
    in_batches = sum(LetterBatch.objects.values_list("count", flat=True))
    race.report(
        "lettres par 20 workers",
        kind=lambda batches: "lot",
        lots=LetterBatch.objects.count(),
        lettres=in_batches,
        personnes=len(people),
    )
    assert race.errors == []
    assert printed.count() == len(people)
    assert in_batches == len(people)
    assert printed.values("letter_batch").distinct().count() == LetterBatch.objects.count()
