"""Dates in words, as the patient reads them: « 3 mars 2026 à 14 h 05 » (Europe/Paris)."""

from datetime import datetime

from django.utils import timezone

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def french_date(moment: datetime) -> str:
    local = timezone.localtime(moment)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year}"


def french_datetime(moment: datetime) -> str:
    """« 3 mars 2026 à 14 h 05 », in the service's time zone (Europe/Paris)."""
    local = timezone.localtime(moment)
    return f"{french_date(local)} à {local.hour} h {local.minute:02d}"
