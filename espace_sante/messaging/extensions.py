"""What an app built on messaging adds to its pages, handed over at start-up.

Messaging sits below the apps that use it and must not import them
(import-linter layers). The pharmacy's prescriptions are conversations of
their own kind: the pharmacy registers here, from its ``AppConfig.ready()``,
the badge and the panel shown on such a conversation (the prescription's
status), the professionals' list those conversations belong to (« Ordonnances
reçues ») and the page where a patient starts one.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from .models import Conversation


@dataclass(frozen=True)
class Panel:
    """A template included in the conversation page, with its context (as ``panel``)."""

    template: str
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ConversationKindPages:
    kind: str  # a Conversation.Kind
    badge: str  # beside such a conversation in the patient's list
    # The panel for a conversation of this kind, on the patient's side or not; None for none.
    panel: Callable[[Conversation, bool], Panel | None]
    # Professionals of organisations of this kind follow these conversations in their own list.
    organization_kind: str
    inbox_label: str
    inbox_url: str  # URL name
    # Where the patient's side starts one (the one conversation a patient starts).
    start_label: str
    start_url: str  # URL name


_registered: dict[str, ConversationKindPages] = {}


def register(pages: ConversationKindPages) -> None:
    _registered[pages.kind] = pages


def pages_of(conversation: Conversation) -> ConversationKindPages | None:
    return _registered.get(conversation.kind)


def panel_of(conversation: Conversation, patient_side: bool) -> Panel | None:
    pages = pages_of(conversation)
    return pages.panel(conversation, patient_side) if pages else None


def for_organization_kind(organization_kind: str) -> list[ConversationKindPages]:
    return [pages for pages in _registered.values() if pages.organization_kind == organization_kind]


def registered() -> list[ConversationKindPages]:
    return list(_registered.values())
