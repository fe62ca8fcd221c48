"""Dates and times in pages, written one way (``access/dates.py``); built into every template.

``{{ document.document_date|jour }}`` → « 1er décembre 2026 »;
``{{ message.sent_at|jour_heure }}`` → « 1er décembre 2026 à 14 h 05 »;
``{{ access.expires_at|heure }}`` → « 14 h 05 ». An empty value gives "".
"""

from django import template

from espace_sante.access.dates import french_date, french_datetime, french_time

register = template.Library()


@register.filter
def jour(value) -> str:
    return french_date(value) if value else ""


@register.filter
def jour_heure(value) -> str:
    return french_datetime(value) if value else ""


@register.filter
def heure(value) -> str:
    return french_time(value) if value else ""
