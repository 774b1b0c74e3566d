"""Aggregation over scored texts, checked against figures computed by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from analytics.aggregate import (
    CorrectionEffect,
    ScoredText,
    SeriesPoint,
    Summary,
    bucket_start,
    correction_effect,
    negative_terms,
    sentiment_series,
    summarize,
    terms,
)
from analytics.sentiment import Score, label_for

UTC = dt.UTC


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def scored(
    compound: float,
    when: dt.datetime,
    *,
    region: str = "FRA",
    publisher: str | None = "who",
    metric: str | None = "cases",
    category: str = "wrong-value",
    text: str = "",
) -> ScoredText:
    score = Score(compound=compound, pos=0.0, neu=1.0, neg=0.0, label=label_for(compound))
    return ScoredText(when, region, publisher, metric, category, score, text)


# 2 March 2026 is a Monday; the five texts span two ISO weeks of March and one day of April.
ITEMS = [
    scored(-0.5, at(2026, 3, 2, 10)),
    # 23:30 at UTC-2 on 2 March is 01:30 UTC on 3 March.
    scored(
        0.5,
        dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
        publisher=None,
    ),
    scored(0.1, at(2026, 3, 8), region="DEU", publisher="ecdc", category="missing-data"),
    scored(-0.3, at(2026, 3, 9), metric="deaths"),
    scored(0.0, at(2026, 4, 1), metric=None),
]


def test_summary_counts_means_and_shares() -> None:
    summary = summarize(item.score for item in ITEMS)
    assert summary.count == 5
    assert summary.mean_compound == pytest.approx((-0.5 + 0.5 + 0.1 - 0.3 + 0.0) / 5)
    assert summary.share_negative == pytest.approx(2 / 5)


def test_summary_of_nothing_has_no_mean() -> None:
    assert summarize([]) == Summary(count=0, mean_compound=None, share_negative=None)


def test_buckets_are_utc_days_iso_weeks_and_months() -> None:
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert bucket_start(late, "day") == dt.date(2026, 3, 2)
    assert bucket_start(at(2026, 3, 8), "week") == dt.date(2026, 3, 2)  # Sunday → Monday
    assert bucket_start(at(2026, 3, 9), "week") == dt.date(2026, 3, 9)
    assert bucket_start(at(2026, 1, 1), "week") == dt.date(2025, 12, 29)
    assert bucket_start(at(2026, 3, 31, 23, 59), "month") == dt.date(2026, 3, 1)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="expected a timezone-aware datetime"):
        bucket_start(dt.datetime(2026, 3, 2), "day")


def test_daily_series_of_all_texts() -> None:
    points = sentiment_series(ITEMS, bucket="day")
    assert [
        (p.bucket_start.isoformat(), p.count, p.mean_compound, p.share_negative) for p in points
    ] == [
        ("2026-03-02", 1, -0.5, 1.0),
        ("2026-03-03", 1, 0.5, 0.0),
        ("2026-03-08", 1, 0.1, 0.0),
        ("2026-03-09", 1, -0.3, 1.0),
        ("2026-04-01", 1, 0.0, 0.0),
    ]
    assert all(p.group == () for p in points)


def test_weekly_series_pools_a_week() -> None:
    points = sentiment_series(ITEMS, bucket="week")
    assert [(p.bucket_start, p.count) for p in points] == [
        (dt.date(2026, 3, 2), 3),
        (dt.date(2026, 3, 9), 1),
        (dt.date(2026, 3, 30), 1),
    ]
    assert points[0].mean_compound == pytest.approx((-0.5 + 0.5 + 0.1) / 3)
    assert points[0].share_negative == pytest.approx(1 / 3)


def test_monthly_series_by_region() -> None:
    points = sentiment_series(ITEMS, by=["region"], bucket="month")
    assert [(p.group, p.bucket_start, p.count) for p in points] == [
        ((("region", "DEU"),), dt.date(2026, 3, 1), 1),
        ((("region", "FRA"),), dt.date(2026, 3, 1), 3),
        ((("region", "FRA"),), dt.date(2026, 4, 1), 1),
    ]
    france_march = points[1]
    assert france_march.mean_compound == pytest.approx((-0.5 + 0.5 - 0.3) / 3)
    assert france_march.share_negative == pytest.approx(2 / 3)


def test_series_by_several_keys_keeps_missing_values_apart() -> None:
    points = sentiment_series(ITEMS, by=("publisher", "metric"), bucket="month")
    assert [(p.group, p.count) for p in points] == [
        ((("publisher", None), ("metric", "cases")), 1),
        ((("publisher", "ecdc"), ("metric", "cases")), 1),
        ((("publisher", "who"), ("metric", None)), 1),
        ((("publisher", "who"), ("metric", "cases")), 1),
        ((("publisher", "who"), ("metric", "deaths")), 1),
    ]


def test_series_by_category() -> None:
    points = sentiment_series(ITEMS, by=["category"], bucket="month")
    assert [(dict(p.group)["category"], p.bucket_start.month, p.count) for p in points] == [
        ("missing-data", 3, 1),
        ("wrong-value", 3, 3),
        ("wrong-value", 4, 1),
    ]


def test_series_of_nothing_is_empty() -> None:
    assert sentiment_series([], by=["region", "category"], bucket="week") == []


@pytest.mark.parametrize("by", [["country"], ["region", "region"]])
def test_unknown_or_repeated_grouping_keys_are_refused(by: list[str]) -> None:
    with pytest.raises(ValueError, match="expected distinct grouping keys"):
        sentiment_series(ITEMS, by=by)  # type: ignore[arg-type]


def test_unknown_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a bucket in"):
        sentiment_series(ITEMS, bucket="year")  # type: ignore[arg-type]


def test_series_point_is_plain_values() -> None:
    (point,) = sentiment_series(ITEMS[:1], by=["region"])
    assert point == SeriesPoint(
        group=(("region", "FRA"),),
        bucket_start=dt.date(2026, 3, 2),
        count=1,
        mean_compound=-0.5,
        share_negative=1.0,
    )


def test_terms_are_lowercased_words_without_stop_words() -> None:
    text = "The ministry's figures are WRONG, again &amp; again: 12 deaths https://www.example.com"
    assert terms(text) == {"ministrys", "figures", "wrong", "deaths", "example"}
    assert terms("Les données sont fausses, x 2x") == {"les", "données", "sont", "fausses"}
    assert terms("") == set()


# A corpus where the words of negative texts are known: "undercount" and "hiding" come with
# negative texts, "thanks" and "clear" with positive ones, "figures" with both in proportion.
CORPUS = (
    [scored(-0.7, at(2026, 3, 2), text="The figures are an undercount, they are hiding deaths")] * 4
    + [scored(-0.6, at(2026, 3, 2), text="Undercount again. Figures wrong")] * 2
    + [scored(-0.4, at(2026, 3, 2), text="hiding everything")] * 1
    + [scored(-0.5, at(2026, 3, 2), text="sloppy work")] * 2
    + [scored(0.6, at(2026, 3, 2), text="Thanks, the figures are clear now")] * 6
    + [scored(0.3, at(2026, 3, 2), text="thanks for the update")] * 4
    + [scored(0.0, at(2026, 3, 2), text="figures for deaths updated weekly")] * 3
)


def test_negative_terms_are_those_of_negative_texts() -> None:
    found = negative_terms(CORPUS, min_negative_texts=3)
    assert [term.term for term in found[:2]] == ["undercount", "hiding"]
    by_term = {term.term: term for term in found}
    assert (by_term["undercount"].negative_texts, by_term["undercount"].all_texts) == (6, 6)
    assert (by_term["hiding"].negative_texts, by_term["hiding"].all_texts) == (5, 5)
    # "sloppy" is in two negative texts only; positive words are not over-represented.
    assert "sloppy" not in by_term
    assert not {"thanks", "clear", "update"} & set(by_term)
    assert all(term.z > 0 for term in found)
    assert [term.z for term in found] == sorted((term.z for term in found), reverse=True)


def test_negative_terms_z_score_by_hand() -> None:
    (undercount, *_) = negative_terms(CORPUS)
    # Text-word incidences: negative texts 4*4 + 2*3 + 1*2 + 2*2 = 28 ("the", "are", "an",
    # "they", "again" are stop words); others 6*3 + 4*2 + 3*4 = 38. The prior is all texts.
    n_neg, n_other, y_neg, y_other = 28, 38, 6, 0
    alpha, alpha_0 = y_neg + y_other, n_neg + n_other

    delta = math.log((y_neg + alpha) / (n_neg + alpha_0 - y_neg - alpha)) - math.log(
        (y_other + alpha) / (n_other + alpha_0 - y_other - alpha)
    )
    z = delta / math.sqrt(1 / (y_neg + alpha) + 1 / (y_other + alpha))
    assert undercount.log_odds_ratio == pytest.approx(delta)
    assert undercount.z == pytest.approx(z)


def test_negative_terms_limit_and_minimum() -> None:
    assert len(negative_terms(CORPUS, limit=1)) == 1
    assert "sloppy" in {t.term for t in negative_terms(CORPUS, min_negative_texts=2)}


def test_negative_terms_need_both_sides() -> None:
    only_negative = [item for item in CORPUS if item.score.label == "negative"]
    only_other = [item for item in CORPUS if item.score.label != "negative"]
    assert negative_terms(only_negative) == []
    assert negative_terms(only_other) == []
    assert negative_terms([]) == []


CORRECTED_AT = at(2026, 3, 10)
WINDOW = dt.timedelta(days=2)
AROUND_CORRECTION = [
    scored(0.9, at(2026, 3, 8, 11, 59)),  # before the window
    scored(0.4, at(2026, 3, 8, 12, 0)),  # first moment of the window before
    scored(-0.6, at(2026, 3, 9)),
    scored(-0.2, at(2026, 3, 10, 11, 59)),
    scored(0.5, at(2026, 3, 10, 12, 0)),  # the correction's moment is after
    scored(0.1, at(2026, 3, 11)),
    scored(-0.9, at(2026, 3, 12, 12, 0)),  # the window after has ended
    scored(-0.8, at(2026, 3, 11), region="DEU"),  # out of scope
    scored(-0.8, at(2026, 3, 11), metric="deaths"),  # out of scope
]


def test_correction_effect_compares_the_windows() -> None:
    effect = correction_effect(
        AROUND_CORRECTION, corrected_at=CORRECTED_AT, window=WINDOW, region="FRA", metric="cases"
    )
    assert effect.before.count == 3
    assert effect.before.mean_compound == pytest.approx((0.4 - 0.6 - 0.2) / 3)
    assert effect.before.share_negative == pytest.approx(2 / 3)
    assert effect.after.count == 2
    assert effect.after.mean_compound == pytest.approx(0.3)
    assert effect.after.share_negative == 0.0
    assert effect.change_mean_compound == pytest.approx(0.3 - (0.4 - 0.6 - 0.2) / 3)
    assert effect.change_share_negative == pytest.approx(-2 / 3)


def test_correction_effect_scope_none_means_any() -> None:
    effect = correction_effect(AROUND_CORRECTION, corrected_at=CORRECTED_AT, window=WINDOW)
    assert (effect.before.count, effect.after.count) == (3, 4)
    by_publisher = correction_effect(
        AROUND_CORRECTION, corrected_at=CORRECTED_AT, window=WINDOW, publisher="ecdc"
    )
    assert (by_publisher.before.count, by_publisher.after.count) == (0, 0)


def test_correction_effect_with_an_empty_side_has_no_change() -> None:
    effect = correction_effect(
        AROUND_CORRECTION[:4], corrected_at=CORRECTED_AT, window=WINDOW, region="FRA"
    )
    assert effect == CorrectionEffect(
        corrected_at=CORRECTED_AT,
        window=WINDOW,
        before=effect.before,
        after=Summary(count=0, mean_compound=None, share_negative=None),
        change_mean_compound=None,
        change_share_negative=None,
    )
    assert effect.before.count == 3


def test_correction_effect_window_is_configurable() -> None:
    wide = correction_effect(
        AROUND_CORRECTION, corrected_at=CORRECTED_AT, window=dt.timedelta(days=3), region="FRA"
    )
    assert (wide.before.count, wide.after.count) == (4, 4)


def test_correction_effect_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="expected a positive window"):
        correction_effect([], corrected_at=CORRECTED_AT, window=dt.timedelta(0))
    with pytest.raises(ValueError, match="expected a timezone-aware corrected_at"):
        correction_effect([], corrected_at=dt.datetime(2026, 3, 10))
    naive = scored(0.1, dt.datetime(2026, 3, 10))
    with pytest.raises(ValueError, match="expected a timezone-aware scored_at"):
        correction_effect([naive], corrected_at=CORRECTED_AT)
