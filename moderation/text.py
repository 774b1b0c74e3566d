"""Free text typed by people: evidence, rationales, answers, appeals.

Texts are kept **exactly as typed**, after Unicode NFC normalisation: ``<script>`` stays the
eight characters ``<script>``. Nothing here sanitises HTML, because nothing ever renders these
texts as markup (the API returns them as JSON strings; pages must escape them as text). Editing a
text to make it "safe" would change what a member said and what the ledger proves they said.

What is refused: control characters other than newline (U+000A) and tab (U+0009) — carriage
returns, NUL, escape sequences, DEL, C1 controls — and lone surrogates (not encodable as UTF-8);
and texts longer than their limit, counted in Unicode code points after NFC.
"""

from __future__ import annotations

import unicodedata

from moderation.errors import ChallengeRefused, Code

#: the longest evidence text, rationale, answer or appeal, in code points after NFC
MAX_TEXT_CHARS = 5_000
_ALLOWED_CONTROLS = frozenset("\n\t")


def clean_text(
    value: object, *, field: str, required: bool, max_chars: int = MAX_TEXT_CHARS
) -> str:
    """``value`` normalised to NFC, or :class:`ChallengeRefused` (``BAD_USER_INPUT``) saying what
    was expected and what arrived. ``required``: a text of only whitespace is refused."""
    if not isinstance(value, str):
        raise ChallengeRefused(
            Code.BAD_USER_INPUT,
            f"{field}: expected a string, got {type(value).__name__}",
            field=field,
        )
    for position, char in enumerate(value):
        category = unicodedata.category(char)
        if (category == "Cc" and char not in _ALLOWED_CONTROLS) or category == "Cs":
            kind = "a lone surrogate" if category == "Cs" else "a control character"
            raise ChallengeRefused(
                Code.BAD_USER_INPUT,
                f"{field}: expected text without control characters other than newline and "
                f"tab, got {kind} U+{ord(char):04X} at position {position}",
                field=field,
            )
    text = unicodedata.normalize("NFC", value)
    if len(text) > max_chars:
        raise ChallengeRefused(
            Code.BAD_USER_INPUT,
            f"{field}: expected at most {max_chars:,} characters, got {len(text):,}",
            field=field,
        )
    if required and not text.strip():
        raise ChallengeRefused(
            Code.BAD_USER_INPUT, f"{field}: expected a non-empty text, got nothing", field=field
        )
    return text
