"""Rendering the narrative of structured (N3) CDA documents as safe HTML.

The narrative block has legal value: it is what the author signed. We map its
few elements to HTML and escape every piece of text; anything else (links,
scripts, styles, multimedia) is dropped.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from defusedxml import ElementTree as SafeET
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element  # defusedxml parses into these

HL7 = "{urn:hl7-org:v3}"
_TAGS = {
    "paragraph": "p",
    "content": "span",
    "caption": "strong",
    "table": "table",
    "thead": "thead",
    "tbody": "tbody",
    "tfoot": "tfoot",
    "tr": "tr",
    "th": "th",
    "td": "td",
    "item": "li",
    "sub": "sub",
    "sup": "sup",
}


@dataclass
class NarrativeSection:
    title: str
    html: SafeString


def _render(element: "Element") -> str:
    parts: list[str] = [escape(element.text or "")]
    for child in element:
        name = child.tag.replace(HL7, "")
        if name == "br":
            parts.append("<br>")
        elif name == "list":
            tag = "ol" if child.get("listType") == "ordered" else "ul"
            parts.append(f"<{tag}>{_render(child)}</{tag}>")
        elif name == "table":
            parts.append(f'<div class="fr-table"><table>{_render(child)}</table></div>')
        elif name in _TAGS:
            tag = _TAGS[name]
            parts.append(f"<{tag}>{_render(child)}</{tag}>")
        elif name in ("renderMultiMedia", "footnoteRef", "col", "colgroup"):
            pass
        else:  # linkHtml, footnote, unknown: keep the words, not the markup
            parts.append(_render(child))
        parts.append(escape(child.tail or ""))
    return "".join(parts)


def narrative_sections(xml: bytes) -> list[NarrativeSection]:
    """The titled narrative sections of a CDA structuredBody, in document order."""
    root = SafeET.fromstring(xml, forbid_dtd=True)
    sections = []
    for section in root.iter(f"{HL7}section"):
        text = section.find(f"{HL7}text")
        if text is None:
            continue
        title = (section.findtext(f"{HL7}title") or "").strip()
        sections.append(NarrativeSection(title, mark_safe(_render(text))))  # noqa: S308 - escaped above
    return sections
