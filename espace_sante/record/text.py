"""Characters that hide what a text says, refused wherever a person or software writes one.

A NUL or another control character has no place in a title, a reason or a message; a
bidirectional override (U+202E) makes « fdp.exe » read as « exe.pdf ». They are
refused with a sentence saying which and where, never silently removed.
"""

import unicodedata

# Embeddings, overrides and isolates: they reorder what follows them on screen.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def hidden_characters(text: str, label: str, *, multiline: bool = False) -> str | None:
    """The French reason ``text`` is refused (``label`` names the field), or None.

    Tabs are allowed; line breaks only where the field has several lines.
    """
    allowed = "\t\n\r" if multiline else "\t"
    for position, char in enumerate(text, start=1):
        if char in BIDI_CONTROLS:
            return (
                f"{label} contient un caractère d'inversion du sens d'écriture "
                f"(U+{ord(char):04X}, position {position}), qui peut déguiser un texte : "
                "retirez-le."
            )
        if unicodedata.category(char) == "Cc" and char not in allowed:
            return (
                f"{label} contient un caractère de contrôle invisible "
                f"(U+{ord(char):04X}, position {position}) : retirez-le."
            )
    return None
