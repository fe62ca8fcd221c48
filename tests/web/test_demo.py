"""The demo population is valid and loading it twice changes nothing."""

from datetime import date

import pytest
from django.core.management import call_command

from espace_sante.identity.models import LegalRepresentative, Organization, Person, Professional
from espace_sante.identity.models import User as Account
from espace_sante.identity.reference import INS_DEMO_NIR


def counts():
    return [
        m.objects.count()
        for m in (Person, Professional, Organization, Account, LegalRepresentative)
    ]


@pytest.mark.django_db
def test_the_demo_can_be_loaded_twice_without_changing_anything(capsys):
    call_command("demo")
    first = counts()
    call_command("demo")
    assert counts() == first
    # 4 people (Camille, pregnant, for the agenda) + the 8 of the enrollment demo
    # campaign; 7 accounts + the operator.
    assert first == [12, 4, 4, 8, 1]
    out = capsys.readouterr().out
    assert "marie.durand@demo.example" in out
    assert "Demo-espace-sante-2026" in out


@pytest.mark.django_db
def test_the_demo_people_match_the_story(personas):
    today = date(2026, 11, 24)
    assert personas.mother.age_on(today) == 38
    assert personas.child.age_on(today) == 6
    assert personas.elder.age_on(today) == 72
    assert personas.mother.medecin_traitant == personas.gp
    assert personas.child.user is None
    assert personas.child.representatives.get().representative == personas.mother
    kinds = set(Organization.objects.values_list("kind", flat=True))
    assert kinds == {"practice", "hospital", "pharmacy", "laboratory"}
    for person in Person.objects.all():
        assert person.ins_system == INS_DEMO_NIR  # never the real NIR system
        person.full_clean()  # every identifier passes its own checks
    for pro in Professional.objects.all():
        pro.full_clean()
        assert pro.roles.exists()
