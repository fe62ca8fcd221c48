"""The postal letters: one PDF page per person, made with WeasyPrint."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


def render_letters(campaign, letters, now) -> bytes:
    """``letters``: (beneficiary, formatted code) pairs, in printing order."""
    from datetime import timedelta

    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    with translation.override("fr"):
        html = render_to_string(
            "enrollment/letters.html",
            {
                "campaign": campaign,
                "letters": letters,
                "today": now,
                "deadline": now + timedelta(days=campaign.objection_days),
                "site_url": settings.SITE_URL,
            },
        )
    # Nothing is fetched from outside: the letters embed no URL.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
