"""What the kernel needs to know of documents, told by the record app when it starts.

The history names the documents and profile sections an entry is about, and
the matrix admin names document types. Both live in ``record``, which sits above the kernel: rather
than importing it, ``access`` is handed two functions by
``RecordConfig.ready()``. Without the record app, titles read « un document ».
"""

import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .policy import Actor, Id

TitlesLookup = Callable[["Actor | None", "Id", Iterable[uuid.UUID]], dict[str, str]]
LabelLookup = Callable[[str], str | None]

_visible_titles: TitlesLookup | None = None
_type_label: LabelLookup | None = None
_section_label: LabelLookup | None = None


def register(
    *, visible_titles: TitlesLookup, type_label: LabelLookup, section_label: LabelLookup
) -> None:
    global _visible_titles, _type_label, _section_label
    _visible_titles, _type_label, _section_label = visible_titles, type_label, section_label


def visible_titles(
    actor: "Actor | None", patient_id: "Id", document_ids: Iterable[uuid.UUID]
) -> dict[str, str]:
    """Decrypted titles of those documents ``actor`` may still see (the policy's SQL filter)."""
    if _visible_titles is None or not document_ids:
        return {}
    return _visible_titles(actor, patient_id, document_ids)


def type_label(type_code: str) -> str | None:
    return _type_label(type_code) if _type_label is not None else None


def section_label(key: str) -> str | None:
    """The French name of a profile section (« Allergies »…), or None."""
    return _section_label(key) if _section_label is not None else None
