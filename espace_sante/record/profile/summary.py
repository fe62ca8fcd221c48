"""The whole profile at once: the index page, the printable summary (PDF), its copy in documents.

The summary also lists the advance directives, which are documents: the
profile calls the documents' services (never the other way round).
"""

import io
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from espace_sante.access.policy import Action, Actor
from espace_sante.identity.models import Person
from espace_sante.record.documents import services as documents
from espace_sante.record.documents.models import Document

from .encrypted import ProfileEntry
from .entries import SECTIONS, access_to, scoped
from .measures import LatestMeasure, latest_of
from .models import Treatment

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher

SUMMARY_TYPE = "profile:summary"


@dataclass
class ProfileSummary:
    """Everything in the profile, decrypted, for the index page and the PDF."""

    patient: Person
    entries: dict[str, list[ProfileEntry]] = field(default_factory=dict)
    singletons: dict[str, ProfileEntry | None] = field(default_factory=dict)
    measures: list[LatestMeasure] = field(default_factory=list)
    # Documents of category DIR_ANT.
    directives: list[documents.ListedDocument] = field(default_factory=list)

    @property
    def current_treatments(self) -> list[Treatment]:
        # The "treatments" section's model is Treatment.
        rows = cast(list[Treatment], self.entries.get("treatments", []))
        return [row for row in rows if row.is_current]

    @property
    def past_treatments(self) -> list[Treatment]:
        rows = cast(list[Treatment], self.entries.get("treatments", []))
        return [row for row in rows if not row.is_current]

    @property
    def measured(self) -> list[LatestMeasure]:
        return [item for item in self.measures if item.point is not None]


def profile_summary(actor: Actor | None, patient: Person) -> ProfileSummary:
    """The whole profile of ``patient``: every section, latest measures, advance directives.

    One audit entry for the whole read (``profile:summary``); the advance
    directives come from the documents service, which traces its own listing.
    """
    access = access_to(actor, Action.LIST, patient.id, SUMMARY_TYPE)
    summary = ProfileSummary(patient=patient)
    with transaction.atomic():
        for sec in SECTIONS.values():
            rows = scoped(sec.model, patient)
            if sec.singleton:
                summary.singletons[sec.key] = rows.first()
            else:
                summary.entries[sec.key] = list(rows.order_by(*sec.order_by))
        summary.measures = latest_of(patient)
        access.trace()
    summary.directives = documents.list_documents(actor, patient.id, category="DIR_ANT")
    return summary


def _safe_url_fetcher() -> "URLFetcher":
    from weasyprint.urls import URLFetcher

    # The summary embeds nothing from outside: no URL is ever fetched, so a
    # text typed by the patient cannot make the server call anywhere.
    return URLFetcher(allowed_protocols=())


def summary_pdf(actor: Actor | None, patient: Person, *, today: date | None = None) -> bytes:
    """The printable summary of the whole profile, as PDF bytes (WeasyPrint)."""
    from weasyprint import HTML

    summary = profile_summary(actor, patient)
    today = today or timezone.localdate()
    with translation.override("fr"):
        html = render_to_string(
            "record/profile/summary_pdf.html",
            {"summary": summary, "patient": patient, "today": today},
        )
    pdf: bytes = HTML(string=html, url_fetcher=_safe_url_fetcher()).write_pdf()
    return pdf


def summary_title(day: date) -> str:
    with translation.override("fr"):
        return f"Synthèse de mon profil médical du {formats.date_format(day, 'j F Y')}"


def save_summary_to_documents(actor: Actor | None, patient: Person) -> Document:
    """Store the printable summary in the patient's documents (type DOCPAT08)."""
    today = timezone.localdate()
    content = summary_pdf(actor, patient, today=today)
    upload = io.BytesIO(content)
    upload.name = f"synthese-profil-medical-{today:%Y-%m-%d}.pdf"
    return documents.add_document(
        actor,
        patient,
        upload,
        documents.NewDocument(
            title=summary_title(today),
            type_code="DOCPAT08",
            source=Document.Source.PATIENT,
            document_date=today,
        ),
    )
