"""Dates in words, as people read them: « 1er mars 2026 à 14 h 05 » (Europe/Paris).

The one way dates and times are written, in pages (the ``jour``, ``jour_heure``
and ``heure`` template filters, ``web/templatetags/french.py``), emails and
messages: the French typographic rules (« 1er » for the first of the month,
« 14 h 05 »), in the service's time zone.
"""

from datetime import date, datetime

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


def _local(moment: date) -> date:
    if isinstance(moment, datetime) and timezone.is_aware(moment):
        return timezone.localtime(moment)
    return moment


def _local_datetime(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def french_date(moment: date) -> str:
    """« 1er mars 2026 », « 3 mars 2026 » (a date, or a moment in the service's time zone)."""
    local = _local(moment)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year}"


def french_time(moment: datetime) -> str:
    """« 14 h 05 », « 9 h 00 »."""
    local = _local_datetime(moment)
    return f"{local.hour} h {local.minute:02d}"


def french_datetime(moment: datetime) -> str:
    """« 3 mars 2026 à 14 h 05 », in the service's time zone (Europe/Paris)."""
    return f"{french_date(moment)} à {french_time(moment)}"
