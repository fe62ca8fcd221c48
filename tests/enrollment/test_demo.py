import pytest

from espace_sante.demo.enrollment import DEMO_CAMPAIGN, load_enrollment_demo
from espace_sante.enrollment.models import Beneficiary
from espace_sante.identity.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_campaign_loads_once_with_its_eight_people():
    first = load_enrollment_demo("Demo-espace-sante-2026")
    load_enrollment_demo("Demo-espace-sante-2026")
    assert first["campaign"].name == DEMO_CAMPAIGN and first["campaign"].department == "31"
    report = first["campaign"].imports.get()
    assert (report.imported, report.refused) == (8, 0)
    assert Beneficiary.objects.filter(campaign=first["campaign"]).count() == 8
    assert User.objects.get(email="operateur@demo.example").kind == "operator"
