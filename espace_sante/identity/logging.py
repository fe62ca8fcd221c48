"""A log filter that masks personal identifiers before any handler sees them.

NIR/NIA, email addresses and phone numbers are recognised by their shape.
Names have no shape: a person or professional passed to a log call (as an
argument) is replaced by its opaque UUID before formatting, and a civility
followed by a name ("Dr Claire Martin", "Mme DURAND") is masked.
"""

import logging
import re

_PATTERNS = [
    # NIR / NIA: 13 characters (2A/2B allowed) and an optional 2-digit key.
    (
        re.compile(r"\b[1-478]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b"),
        "[NIR]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[courriel]"),
    (re.compile(r"(?:\+33|0033|\b0)\s?[1-9](?:[\s.-]?\d{2}){4}\b"), "[téléphone]"),
    (
        re.compile(r"\b(?:Dr|Pr|Mme|Mlle|M\.|Madame|Monsieur)\s+(?:[A-ZÀ-Ý][\w'’-]+\s?){1,3}"),
        "[nom] ",
    ),
]


def mask(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _anonymous(value):
    """An identity object becomes its opaque identifier; anything else is kept."""
    from .models import Person, Professional, User

    if isinstance(value, (Person, Professional)):
        return f"<{type(value).__name__} {value.pk}>"
    if isinstance(value, User):
        return f"<User {value.uuid}>"
    return value


class MaskIdentifiersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_anonymous(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _anonymous(arg) for key, arg in record.args.items()}
        message = record.getMessage()
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True
