"""Sentiment of one short text, scored with VADER (Hutto & Gilbert, ICWSM 2014).

VADER (``vaderSentiment``) is a lexicon-and-rules model built for short social-media texts; it
needs no training and gives a ``compound`` score in [-1, 1] plus the shares of the text that read
positive, neutral and negative. Labels use VADER's published thresholds: ``compound >= 0.05``
positive, ``compound <= -0.05`` negative, neutral between. They are the library's, not tuned here.

Citizens' texts are untrusted. They are scored as plain text: nothing is parsed, unescaped or
rendered, so ``<b>great</b>`` is the one token VADER sees (not the word "great"), and a text is
never changed by scoring. VADER's cost grows with the square of the number of words (its
negation and idiom checks re-read the whole text for each sentiment word), so at most
``MAX_SCORED_CHARS`` characters are scored, an emoji counting as the length of the description
VADER replaces it with (up to 36 characters): the worst case is about 30 ms here instead of
seconds. A longer text is scored on its first ``MAX_SCORED_CHARS`` (cut at the last whitespace
before the limit) and its ``Score`` says ``truncated``. The moderation code sets the lengths
texts may have; anything up to this limit is scored whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Label = Literal["negative", "neutral", "positive"]

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
MAX_SCORED_CHARS = 1000

# Building the analyzer reads VADER's lexicons (about 7,500 words and 3,500 emoji); it holds no
# state between calls, so one serves every caller and thread.
_ANALYZER = SentimentIntensityAnalyzer()
# VADER replaces each character found in its emoji lexicon (keys longer than one character never
# match, as it reads one character at a time) with the description, a space perhaps before it.
_EMOJI_LENGTHS: dict[str, int] = {
    emoji: len(description) + 1
    for emoji, description in _ANALYZER.emojis.items()
    if len(emoji) == 1
}


@dataclass(frozen=True, slots=True)
class Score:
    """VADER's scores for one text: ``compound`` in [-1, 1]; ``pos + neu + neg`` is 1 (0 for a
    text without words); ``truncated`` when only the first ``MAX_SCORED_CHARS`` were scored."""

    compound: float
    pos: float
    neu: float
    neg: float
    label: Label
    truncated: bool = False


def label_for(compound: float) -> Label:
    """VADER's published thresholds: >= 0.05 positive, <= -0.05 negative, else neutral."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def scored_part(text: str) -> str:
    """The part of ``text`` that is scored: all of it, or the longest prefix within
    ``MAX_SCORED_CHARS`` (emoji counted as their descriptions), cut at whitespace if it can be."""
    length = 0
    for index, char in enumerate(text):
        length += _EMOJI_LENGTHS.get(char, 1)
        if length > MAX_SCORED_CHARS:
            prefix = text[:index]
            if char.isspace() or not prefix or prefix[-1].isspace():
                return prefix
            words = prefix.rsplit(maxsplit=1)  # drop the word the limit cuts through
            return words[0] if len(words) == 2 else prefix
    return text


def score(text: str) -> Score:
    """Score one text as plain text (any ``str``, including the empty one)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str to score, got {type(text).__name__}")
    part = scored_part(text)
    raw = _ANALYZER.polarity_scores(part)
    compound = float(raw["compound"])
    return Score(
        compound=compound,
        pos=float(raw["pos"]),
        neu=float(raw["neu"]),
        neg=float(raw["neg"]),
        label=label_for(compound),
        truncated=len(part) < len(text),
    )


def score_many(texts: Iterable[str]) -> list[Score]:
    """Scores of ``texts``, in order."""
    return [score(text) for text in texts]
