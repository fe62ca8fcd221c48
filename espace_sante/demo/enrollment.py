"""The demo campaign: the demo département (31), eight people to inform, an operator.

Loaded by ``espace-sante demo`` (idempotent). The people come from
``data/demo_beneficiaries.csv`` — the NIR and card serial to type on
/activer/ and /opposition/ are in that file; the codes arrive in var/mail/
(emails) or in the letters PDF of the operator console.
"""

from pathlib import Path

from django.utils import timezone

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Campaign
from espace_sante.identity.models import User

DEMO_CAMPAIGN = "Démonstration — Haute-Garonne"
DEMO_OPERATOR = "operateur@demo.example"
DEMO_FILE = Path(__file__).parent / "data" / "demo_beneficiaries.csv"


def load_enrollment_demo(password: str) -> dict:
    """The operator account, the campaign and its imported file; nothing sent yet."""
    from espace_sante.demo.people import ensure_demo_totp

    operator = User.objects.filter(email=DEMO_OPERATOR).first()
    if operator is None:
        operator = User.objects.create_user(DEMO_OPERATOR, password, kind=User.Kind.OPERATOR)
    ensure_demo_totp(operator)  # operators sign in with TOTP, like professionals
    campaign = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
    if campaign is None:
        campaign = services.create_campaign(DEMO_CAMPAIGN, "31", timezone.localdate())
    if not campaign.imports.exists():
        with DEMO_FILE.open(encoding="utf-8-sig", newline="") as handle:
            services.import_beneficiaries(campaign, handle, file_name=DEMO_FILE.name)
    return {"campaign": campaign, "operator": DEMO_OPERATOR, "file": DEMO_FILE}
