from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from espace_sante.identity import validators as identity_validators

from .lifecycle import Event, S
from .models import (
    Beneficiary,
    Campaign,
    SpaceTransition,
)

# --- Campaigns -----------------------------------------------------------------


@transaction.atomic
def create_campaign(name: str, department: str, start_date, objection_days: int | None = None):
    """A campaign for one département; the objection delay defaults to the setting."""
    try:
        department = identity_validators.validate_department(department)
    except ValidationError as exc:
        raise ValidationError({"department": exc.messages}) from None
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Donnez un nom à la campagne."})
    if Campaign.objects.filter(name=name).exists():
        raise ValidationError({"name": "Une campagne porte déjà ce nom."})
    return Campaign.objects.create(
        name=name,
        department=department,
        start_date=start_date,
        objection_days=objection_days or settings.ENROLLMENT_OBJECTION_DAYS,
    )


def campaign_counts(campaign: Campaign) -> dict:
    """Counts per space state and per delivery, and the rates the console shows."""
    from django.db.models import Count

    states = dict(
        Beneficiary.objects.filter(campaign=campaign)
        .exclude(delivery=Beneficiary.Delivery.NOT_ELIGIBLE)
        .values_list("person__space_state")
        .annotate(n=Count("id"))
        .values_list("person__space_state", "n")
    )
    deliveries = dict(
        Beneficiary.objects.filter(campaign=campaign)
        .values_list("delivery")
        .annotate(n=Count("id"))
        .values_list("delivery", "n")
    )
    total = sum(states.values())
    # How each person's space came to be, from the transitions (not the current state).
    events = dict(
        SpaceTransition.objects.filter(
            patient__beneficiaries__campaign=campaign,
            event__in=[Event.ACTIVATED, Event.OBJECTED, Event.AUTO_CREATED],
        )
        .values_list("event")
        .annotate(n=Count("patient_id", distinct=True))
        .values_list("event", "n")
    )

    def rate(n):
        return round(100 * n / total, 1) if total else 0.0

    return {
        "total": total,
        "states": [(value, label, states.get(value, 0)) for value, label in S.choices],
        "deliveries": [
            (value, label, deliveries.get(value, 0))
            for value, label in Beneficiary.Delivery.choices
        ],
        "activation_rate": rate(events.get(Event.ACTIVATED, 0)),
        "objection_rate": rate(events.get(Event.OBJECTED, 0)),
        "auto_creation_rate": rate(events.get(Event.AUTO_CREATED, 0)),
    }
