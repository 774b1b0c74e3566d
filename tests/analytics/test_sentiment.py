"""Scoring one text with VADER: labels, plain-text handling of untrusted input, the length cap."""

from __future__ import annotations

import dataclasses
import time

import pytest

from analytics.sentiment import MAX_SCORED_CHARS, Score, label_for, score, score_many, scored_part


@pytest.mark.parametrize(
    "text",
    [
        "Thank you for fixing the numbers so quickly, great work!",
        "The new dashboard is clear and really helpful :)",
    ],
)
def test_clearly_positive_text_is_positive(text: str) -> None:
    result = score(text)
    assert result.label == "positive"
    assert result.compound >= 0.5
    assert result.pos > result.neg == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "These death counts are wrong and the ministry is lying.",
        "Terrible data, awful reporting, I am furious!!!",
    ],
)
def test_clearly_negative_text_is_negative(text: str) -> None:
    result = score(text)
    assert result.label == "negative"
    assert result.compound <= -0.5
    assert result.neg > result.pos == 0.0


def test_factual_text_is_neutral() -> None:
    result = score("The figure for 3 May is from the weekly report.")
    assert result == Score(compound=0.0, pos=0.0, neu=1.0, neg=0.0, label="neutral")


def test_negation_turns_the_sentiment() -> None:
    assert score("The data is bad.").label == "negative"
    assert score("The data is not bad at all.").label == "positive"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_text_without_words_scores_zero(text: str) -> None:
    assert score(text) == Score(compound=0.0, pos=0.0, neu=0.0, neg=0.0, label="neutral")


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (0.05, "positive"),
        (0.0499, "neutral"),
        (0.0, "neutral"),
        (-0.0499, "neutral"),
        (-0.05, "negative"),
        (1.0, "positive"),
        (-1.0, "negative"),
    ],
)
def test_labels_use_vaders_published_thresholds(compound: float, label: str) -> None:
    assert label_for(compound) == label


def test_markup_is_scored_as_plain_text_and_left_unchanged() -> None:
    script = "<script>alert('hacked')</script> love it"
    assert scored_part(script) == script
    # The tags are words VADER does not know: the compound is the one of "love it", the
    # neutral share grows with the extra tokens.
    assert score(script).compound == score("love it").compound
    assert score(script).neu > score("love it").neu
    # Nothing is unescaped or rendered: "<3" is a heart to VADER, "&lt;3" is not; a word
    # glued inside a tag is not the word.
    assert score("<3").label == "positive"
    assert score("&lt;3").label == "neutral"
    assert score("awful").label == "negative"
    assert score("<b>awful</b>").label == "neutral"


def test_non_text_is_refused() -> None:
    with pytest.raises(TypeError, match="expected a str to score, got bytes"):
        score(b"great")  # type: ignore[arg-type]


def test_score_many_keeps_the_order() -> None:
    texts = ["awful", "great", "table"]
    assert [s.label for s in score_many(texts)] == ["negative", "positive", "neutral"]
    assert score_many([]) == []


def test_text_within_the_limit_is_scored_whole() -> None:
    text = ("x" * 9 + " ") * (MAX_SCORED_CHARS // 10)
    assert len(text) == MAX_SCORED_CHARS
    assert scored_part(text) == text
    assert not score(text).truncated


def test_longer_text_is_scored_on_whole_words_up_to_the_limit() -> None:
    text = "great " * 150 + "terrible " * 150  # 2,250 characters
    part = scored_part(text)
    assert len(part) <= MAX_SCORED_CHARS
    assert text.startswith(part)
    assert part.split()[-1] in {"great", "terrible"}  # no half word at the cut
    result = score(text)
    assert result.truncated
    assert result == dataclasses.replace(score(part), truncated=True)


def test_emoji_count_as_the_description_vader_reads() -> None:
    # "grinning face" and a possible space: 14 characters each for the limit.
    text = "😀" * 100
    part = scored_part(text)
    assert len(part) == MAX_SCORED_CHARS // 14
    assert score(text).truncated


def test_adversarial_long_text_costs_no_more_than_the_limit() -> None:
    # Every other word a sentiment emoticon: VADER's cost is quadratic in such words (10,000
    # characters take seconds whole, these 50,000 over a minute); capped, it takes milliseconds.
    text = "x :( " * 10_000
    started = time.perf_counter()
    result = score(text)
    assert time.perf_counter() - started < 5.0
    assert result.truncated
    assert result.label == "negative"
