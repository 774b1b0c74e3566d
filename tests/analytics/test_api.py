"""The ``sentiment`` GraphQL field over real HTTP (the ASGI app) on a real database (SQLite and
PostgreSQL): scored texts and a correction are inserted, each field is asked for and its values
checked against ``analytics.aggregate`` computed from the texts; bad inputs are BAD_USER_INPUT.

Until ``api/schema.py`` composes ``AnalyticsQuery`` into its ``Query``, the ``api`` fixture
serves a schema built the same way with it added (by replacing ``api.app.create_schema`` for
the test); once composed, the app is served as it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

import api.app
import api.schema
from analytics import aggregate, queries
from analytics.aggregate import ScoredText
from analytics.sentiment import score
from api.analytics.schema import AnalyticsQuery
from api.app import create_app
from api.limits import Budgets, Limits, extensions
from models.moderation import Challenge, Correction, PublicText
from service.runtime import Runtime

UTC = dt.UTC
# 2 March 2026 is a Monday.
MONDAY = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
CASES = "cases_cumulative"
DEATHS = "deaths_cumulative"

POSITIVE = [
    "Thank you, the corrected figures are great.",
    "Excellent and helpful data, well done.",
    "Good to see this fixed so quickly, I love it.",
    "Wonderful transparency, thanks to the ministry.",
]
NEGATIVE = [
    "The undercount is terrible.",
    "Awful undercount, this is simply wrong.",
    "Another undercount: a disgrace and a lie.",
    "Undercount again. Horrible work, so sad.",
    "I hate this undercount, shameful.",
]

# --- serving the schema with AnalyticsQuery ---------------------------------------------------


def _with_analytics(limits: Limits, budgets: Budgets) -> strawberry.Schema:
    """``api.schema.create_schema`` with ``AnalyticsQuery`` added to the root ``Query``."""

    @strawberry.type(name="Query", description="Public, read-only entry points.")
    class Query(api.schema.Query, AnalyticsQuery):
        pass

    return api.schema.CorroborateSchema(
        query=Query,
        mutation=api.schema.Mutation,
        subscription=api.schema.Subscription,
        extensions=extensions(limits, budgets),
    )


def wired() -> bool:
    """Whether ``api/schema.py`` serves the analytics already."""
    return issubclass(api.schema.Query, AnalyticsQuery)


@pytest.fixture
async def client(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app serving ``sentiment`` (for this test module only)."""
    if not wired():
        monkeypatch.setattr(api.app, "create_schema", _with_analytics)
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def served_schema() -> strawberry.Schema:
    return api.schema.schema if wired() else _with_analytics(Limits(), Budgets(60))


async def call(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"accept": "application/graphql-response+json"},
    )
    body: dict[str, Any] = response.json()
    return body


async def data(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await call(client, query, **variables)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["sentiment"]
    return found


# --- rows -------------------------------------------------------------------------------------


def text(
    body: str,
    when: dt.datetime,
    *,
    region: str | None = "FRA",
    publisher: str | None = "who",
    metric: str | None = CASES,
    category: str = "wrong_value",
    kind: str = "comment",
) -> PublicText:
    scored = score(body)
    return PublicText(
        kind=kind,
        challenge_id=1,
        author="account:1",
        body=body,
        created_at=when,
        compound=scored.compound,
        positive=scored.pos,
        negative=scored.neg,
        neutral=scored.neu,
        label=scored.label,
        region=region,
        metric=metric,
        publisher=publisher,
        category=category,
    )


async def insert(runtime: Runtime, *rows: Any) -> None:
    async with runtime.write_sessions() as session, session.begin():
        for row in rows:
            session.add(row)
            await session.flush()


def expected(rows: list[PublicText]) -> aggregate.Summary:
    return aggregate.summarize(score(row.body) for row in rows)


def item(row: PublicText) -> ScoredText:
    return ScoredText(
        row.created_at,
        row.region,  # type: ignore[arg-type]
        row.publisher,
        row.metric,
        row.category,
        score(row.body),
        row.body,
    )


def mixed_rows() -> list[PublicText]:
    return [
        text(POSITIVE[0], MONDAY),
        text(NEGATIVE[0], MONDAY + dt.timedelta(hours=1), publisher=None),
        text(POSITIVE[1], MONDAY + DAY, region="DEU", publisher="ecdc"),
        text(NEGATIVE[1], MONDAY + 2 * DAY, metric=DEATHS, category="missing_data"),
        text(POSITIVE[2], MONDAY + 8 * DAY, kind="challenge"),
        text(NEGATIVE[2], MONDAY + 9 * DAY, region="DEU", kind="answer"),
    ]


# --- summary ----------------------------------------------------------------------------------

SUMMARY = """query($filter: SentimentFilter) { sentiment(filter: $filter) {
  summary { count meanCompound shareNegative matched capped } } }"""


async def test_summary_applies_each_filter(client: httpx.AsyncClient, runtime: Runtime) -> None:
    rows = mixed_rows()
    await insert(runtime, *rows)
    cases: list[tuple[dict[str, Any] | None, list[PublicText]]] = [
        (None, rows),
        ({}, rows),
        ({"region": "FRA"}, [rows[0], rows[1], rows[3], rows[4]]),
        ({"region": "DEU"}, [rows[2], rows[5]]),
        ({"publisher": "ecdc"}, [rows[2]]),
        ({"metric": "DEATHS_CUMULATIVE"}, [rows[3]]),
        ({"category": "MISSING_DATA"}, [rows[3]]),
        ({"kinds": ["CHALLENGE", "ANSWER"]}, [rows[4], rows[5]]),
        # half-open, compared in UTC: 15:00 at UTC+2 is 13:00 UTC
        (
            {"since": "2026-03-02T15:00:00+02:00", "until": "2026-03-04T12:00:00Z"},
            [rows[1], rows[2]],
        ),
        ({"since": "2026-03-04T12:00:00Z", "until": "2026-03-04T12:00:00Z"}, []),
        (
            {
                "region": "FRA",
                "metric": "CASES_CUMULATIVE",
                "publisher": "who",
                "kinds": ["COMMENT"],
            },
            [rows[0]],
        ),
        ({"region": "ITA"}, []),
    ]
    for where, wanted in cases:
        got = (await data(client, SUMMARY, filter=where))["summary"]
        want = expected(wanted)
        assert (got["count"], got["matched"], got["capped"]) == (want.count, want.count, False)
        if want.count:
            assert got["meanCompound"] == pytest.approx(want.mean_compound), where
            assert got["shareNegative"] == pytest.approx(want.share_negative), where
        else:
            assert got["meanCompound"] is None and got["shareNegative"] is None


async def test_summary_says_when_it_was_capped(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [*NEGATIVE[:3], *POSITIVE[:3]]  # oldest first
    await insert(runtime, *(text(b, MONDAY + dt.timedelta(hours=i)) for i, b in enumerate(bodies)))
    monkeypatch.setattr(queries, "MAX_ROWS", 4)
    got = (await data(client, SUMMARY))["summary"]
    recent = [score(body).compound for body in bodies[2:]]
    assert (got["count"], got["matched"], got["capped"]) == (4, 6, True)
    assert got["meanCompound"] == pytest.approx(sum(recent) / 4)
    assert got["shareNegative"] == pytest.approx(1 / 4)


# --- series -----------------------------------------------------------------------------------

SERIES = """query($filter: SentimentFilter, $by: [SentimentDimension!]!, $bucket: SentimentBucket!) {
  sentiment(filter: $filter) { series(by: $by, bucket: $bucket) {
    group { dimension value } bucketStart count meanCompound shareNegative } } }"""


def groups(points: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (tuple((g["dimension"], g["value"]) for g in p["group"]), p["bucketStart"], p["count"])
        for p in points
    ]


async def test_series_groups_and_buckets(client: httpx.AsyncClient, runtime: Runtime) -> None:
    rows = [
        *mixed_rows(),
        # 23:30 UTC on Sunday 8 March: still the first ISO week, and 8 March
        text(NEGATIVE[3], dt.datetime(2026, 3, 8, 23, 30, tzinfo=UTC)),
        text(POSITIVE[3], MONDAY + 30 * DAY, region=None, publisher=None),
    ]
    await insert(runtime, *rows)
    weekly = (await data(client, SERIES, by=["REGION"], bucket="WEEK"))["series"]
    assert groups(weekly) == [
        ((("REGION", None),), "2026-03-30", 1),
        ((("REGION", "DEU"),), "2026-03-02", 1),
        ((("REGION", "DEU"),), "2026-03-09", 1),
        ((("REGION", "FRA"),), "2026-03-02", 4),
        ((("REGION", "FRA"),), "2026-03-09", 1),
    ]
    want = aggregate.sentiment_series([item(r) for r in rows], by=("region",), bucket="week")
    for got, point in zip(weekly, want, strict=True):
        assert got["meanCompound"] == pytest.approx(point.mean_compound)
        assert got["shareNegative"] == pytest.approx(point.share_negative)

    # metrics and categories by their enum names, as the filter takes them
    daily = (
        await data(
            client, SERIES, filter={"region": "FRA"}, by=["PUBLISHER", "METRIC"], bucket="DAY"
        )
    )["series"]
    assert groups(daily) == [
        ((("PUBLISHER", None), ("METRIC", "CASES_CUMULATIVE")), "2026-03-02", 1),
        ((("PUBLISHER", "who"), ("METRIC", "CASES_CUMULATIVE")), "2026-03-02", 1),
        ((("PUBLISHER", "who"), ("METRIC", "CASES_CUMULATIVE")), "2026-03-08", 1),
        ((("PUBLISHER", "who"), ("METRIC", "CASES_CUMULATIVE")), "2026-03-10", 1),
        ((("PUBLISHER", "who"), ("METRIC", "DEATHS_CUMULATIVE")), "2026-03-04", 1),
    ]
    sunday = daily[2]
    assert sunday["meanCompound"] == pytest.approx(score(NEGATIVE[3]).compound)
    assert sunday["shareNegative"] == 1.0
    by_category = (
        await data(client, SERIES, filter={"kinds": ["COMMENT"]}, by=["CATEGORY"], bucket="MONTH")
    )["series"]
    assert groups(by_category) == [
        ((("CATEGORY", "MISSING_DATA"),), "2026-03-01", 1),
        ((("CATEGORY", "WRONG_VALUE"),), "2026-03-01", 4),
        ((("CATEGORY", "WRONG_VALUE"),), "2026-04-01", 1),
    ]
    # the defaults: one group of all texts, by day
    everything = (
        await data(client, "{ sentiment { series { group { value } bucketStart count } } }")
    )["series"]
    assert [(p["group"], p["bucketStart"], p["count"]) for p in everything][:3] == [
        ([], "2026-03-02", 2),
        ([], "2026-03-03", 1),
        ([], "2026-03-04", 1),
    ]
    assert sum(p["count"] for p in everything) == len(rows)
    assert (await data(client, SERIES, filter={"region": "ITA"}, by=[], bucket="DAY")) == {
        "series": []
    }


# --- negative terms ---------------------------------------------------------------------------

TERMS = """query($filter: SentimentFilter, $limit: Int!) { sentiment(filter: $filter) {
  negativeTerms(limit: $limit) { term z logOddsRatio negativeTexts allTexts } } }"""


async def test_a_term_planted_in_negative_texts_comes_first(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    rows = [
        *(text(body, MONDAY + dt.timedelta(hours=i)) for i, body in enumerate(NEGATIVE)),
        *(text(body, MONDAY + dt.timedelta(hours=10 + i)) for i, body in enumerate(POSITIVE)),
        text("The figures are fine, thanks.", MONDAY + dt.timedelta(hours=20)),
        text("Figures updated, good.", MONDAY + dt.timedelta(hours=21)),
        text("Undercount, awful undercount!", MONDAY, region="DEU"),  # kept out by the filter
    ]
    await insert(runtime, *rows)
    found = (await data(client, TERMS, filter={"region": "FRA"}, limit=20))["negativeTerms"]
    first = found[0]
    assert first["term"] == "undercount"
    assert (first["negativeTexts"], first["allTexts"]) == (5, 5)
    want = aggregate.negative_terms([item(row) for row in rows if row.region == "FRA"])
    assert [t["term"] for t in found] == [t.term for t in want]
    for got, term in zip(found, want, strict=True):
        assert got["z"] == pytest.approx(term.z) and got["z"] > 0
        assert got["logOddsRatio"] == pytest.approx(term.log_odds_ratio)
    both = (await data(client, TERMS, limit=1))["negativeTerms"]
    assert [(t["term"], t["negativeTexts"]) for t in both] == [("undercount", 6)]
    # only the positive texts: nothing to rank
    positive_only = {"since": (MONDAY + dt.timedelta(hours=10)).isoformat()}
    assert (await data(client, TERMS, filter=positive_only, limit=5))["negativeTerms"] == []


# --- corrections ------------------------------------------------------------------------------

EFFECTS = """query($filter: SentimentFilter, $days: Int!, $limit: Int!) {
  sentiment(filter: $filter) { correctionEffects(windowDays: $days, limit: $limit) {
    ledgerIndex challengeNumber region metric date oldValue newValue publishers correctedAt
    windowDays changeMeanCompound changeShareNegative
    before { start end count meanCompound shareNegative }
    after { start end count meanCompound shareNegative }
    correction { ledgerIndex challengeNumber newValue reason } } } }"""


async def add_challenge(runtime: Runtime, when: dt.datetime) -> int:
    evidence = text("Evidence.", when, region="ZZZ", kind="challenge")
    await insert(runtime, evidence)
    challenge = Challenge(
        target_kind="figure",
        target_id=f"FRA/{CASES}/2026-03-01",
        region="FRA",
        metric=CASES,
        date=dt.date(2026, 3, 1),
        publishers=["who", "ecdc"],
        category="wrong_value",
        links=[],
        text_id=evidence.id or 0,
        filer="account:1",
        state="upheld",
        duplicate_key="k" * 64,
        discrepancy=0.5,
        next_sequence=1,
        filed_at=when,
        filed_epoch=int(when.timestamp()),
        updated_at=when,
    )
    await insert(runtime, challenge)
    assert challenge.id is not None
    return challenge.id


def correction(index: int, challenge_id: int, when: dt.datetime, **kw: Any) -> Correction:
    args: dict[str, Any] = {
        "ledger_index": index,
        "challenge_id": challenge_id,
        "region": "FRA",
        "metric": CASES,
        "date": dt.date(2026, 3, 1),
        "version": 2,
        "supersedes": index - 1,
        "old_value": 100,
        "new_value": 120,
        "reason": "The bulletin was misread.",
        "evidence_sha256": "0" * 64,
        "decided_by": ["account:10", "account:11"],
        "quorum": 2,
        "publishers": ["who", "ecdc"],
        "created_at": when,
    } | kw
    return Correction(**args)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


async def test_correction_effects_show_the_change(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    corrected = MONDAY + 10 * DAY
    challenge_id = await add_challenge(runtime, MONDAY - 60 * DAY)
    before = [text(body, corrected - (i + 1) * DAY) for i, body in enumerate(NEGATIVE[:3])]
    after = [text(body, corrected + i * DAY) for i, body in enumerate(POSITIVE[:3])]
    others = [
        text(POSITIVE[3], corrected - 8 * DAY),  # before the window
        text(NEGATIVE[3], corrected + 7 * DAY),  # the window's end is out
        text(NEGATIVE[4], corrected + DAY, metric=DEATHS),  # another metric
        text(NEGATIVE[4], corrected + DAY, region="DEU"),  # another region
        text(NEGATIVE[4], corrected + DAY, kind="answer"),  # same figure, an answer
    ]
    await insert(
        runtime,
        *before,
        *after,
        *others,
        correction(7, challenge_id, corrected),
        correction(
            9, challenge_id, corrected + 20 * DAY, region="DEU", metric=DEATHS, publishers=["rki"]
        ),
    )
    found = (await data(client, EFFECTS, days=7, limit=20))["correctionEffects"]
    assert [c["ledgerIndex"] for c in found] == [9, 7]  # most recent first
    fra = found[1]
    assert {k: fra[k] for k in ("challengeNumber", "region", "metric", "date")} == {
        "challengeNumber": challenge_id,
        "region": "FRA",
        "metric": "CASES_CUMULATIVE",
        "date": "2026-03-01",
    }
    assert (fra["oldValue"], fra["newValue"], fra["publishers"]) == (100, 120, ["who", "ecdc"])
    assert dt.datetime.fromisoformat(fra["correctedAt"]) == corrected
    assert fra["windowDays"] == 7
    assert fra["correction"] == {
        "ledgerIndex": 7,
        "challengeNumber": challenge_id,
        "newValue": 120,
        "reason": "The bulletin was misread.",
    }
    was, now = fra["before"], fra["after"]
    assert dt.datetime.fromisoformat(was["start"]) == corrected - 7 * DAY
    assert dt.datetime.fromisoformat(was["end"]) == corrected
    assert dt.datetime.fromisoformat(now["start"]) == corrected
    assert dt.datetime.fromisoformat(now["end"]) == corrected + 7 * DAY
    assert (was["count"], was["shareNegative"]) == (3, 1.0)
    # the three positive texts and the answer on the same figure
    assert (now["count"], now["shareNegative"]) == (4, pytest.approx(1 / 4))
    before_scores = [score(r.body).compound for r in before]
    after_scores = [score(r.body).compound for r in [*after, others[4]]]
    assert was["meanCompound"] == pytest.approx(mean(before_scores))
    assert now["meanCompound"] == pytest.approx(mean(after_scores))
    assert fra["changeMeanCompound"] == pytest.approx(mean(after_scores) - mean(before_scores))
    assert fra["changeMeanCompound"] > 0.5
    assert fra["changeShareNegative"] == pytest.approx(1 / 4 - 1)
    deu = found[0]
    assert (deu["region"], deu["metric"], deu["publishers"]) == (
        "DEU",
        "DEATHS_CUMULATIVE",
        ["rki"],
    )
    assert deu["before"]["count"] == deu["after"]["count"] == 0
    assert deu["changeMeanCompound"] is None and deu["changeShareNegative"] is None

    async def indices(days: int = 7, limit: int = 20, **where: Any) -> list[int]:
        got = await data(client, EFFECTS, filter=where, days=days, limit=limit)
        return [c["ledgerIndex"] for c in got["correctionEffects"]]

    assert await indices(region="FRA") == [7]
    assert await indices(metric="DEATHS_CUMULATIVE") == [9]
    assert await indices(publisher="ecdc") == [7]
    assert await indices(publisher="rki") == [9]
    assert await indices(since=(corrected + DAY).isoformat()) == [9]
    assert await indices(until=(corrected + DAY).isoformat()) == [7]
    assert await indices(limit=1) == [9]
    # kinds choose the texts in the windows; a wider window holds more of them
    narrow = await data(
        client, EFFECTS, filter={"region": "FRA", "kinds": ["ANSWER"]}, days=7, limit=20
    )
    (answers,) = narrow["correctionEffects"]
    assert (answers["before"]["count"], answers["after"]["count"]) == (0, 1)
    wide = await data(client, EFFECTS, filter={"region": "FRA"}, days=9, limit=20)
    (wider,) = wide["correctionEffects"]
    assert (wider["before"]["count"], wider["after"]["count"]) == (4, 5)
    assert wider["windowDays"] == 9


# --- bad inputs -------------------------------------------------------------------------------

ALL = """query($filter: SentimentFilter) { sentiment(filter: $filter) {
  summary { count } } }"""
BY = """query($by: [SentimentDimension!]!) { sentiment { series(by: $by) { count } } }"""
LIMIT = """query($limit: Int!) { sentiment { negativeTerms(limit: $limit) { term } } }"""
WINDOW = """query($filter: SentimentFilter, $days: Int!, $limit: Int!) {
  sentiment(filter: $filter) { correctionEffects(windowDays: $days, limit: $limit) {
    ledgerIndex } } }"""

BAD: list[tuple[str, dict[str, Any], str | None, str]] = [
    # query, variables, the argument named, what the message says
    (ALL, {"filter": {"since": "2026-03-02T00:00:00"}}, "filter.since", "got 2026-03-02T00:00:00"),
    (ALL, {"filter": {"until": "2026-03-02T10:00:00"}}, "filter.until", "time zone offset"),
    (
        ALL,
        {"filter": {"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"}},
        "filter.since",
        "got since 2026-03-03T00:00:00+00:00 after until 2026-03-02T00:00:00+00:00",
    ),
    (ALL, {"filter": {"kinds": []}}, "filter.kinds", "got an empty list"),
    (ALL, {"filter": {"region": "Atlantis"}}, "filter.region", "got 'Atlantis'"),
    (ALL, {"filter": {"publisher": "Who Else"}}, "filter.publisher", "got 'Who Else'"),
    (BY, {"by": ["REGION", "METRIC", "REGION"]}, "by", "got REGION, METRIC, REGION"),
    (LIMIT, {"limit": 0}, "limit", "expected `limit` in 1..200, got 0"),
    (LIMIT, {"limit": 201}, "limit", "expected `limit` in 1..200, got 201"),
    (WINDOW, {"days": 0, "limit": 20}, "windowDays", "expected `windowDays` in 1..90, got 0"),
    (WINDOW, {"days": 91, "limit": 20}, "windowDays", "in 1..90, got 91"),
    (WINDOW, {"days": 7, "limit": 0}, "limit", "expected `limit` in 1..100, got 0"),
    (WINDOW, {"days": 7, "limit": 101}, "limit", "in 1..100, got 101"),
    (
        WINDOW,
        {"filter": {"category": "WRONG_DATE"}, "days": 7, "limit": 20},
        "filter.category",
        "expected no `filter.category` with `correctionEffects`",
    ),
]


async def test_bad_inputs_are_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await insert(runtime, *mixed_rows())
    for query, variables, argument, says in BAD:
        body = await call(client, query, **variables)
        assert body.get("data") is None, (variables, body)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, error)
        assert error["extensions"].get("argument") == argument, (variables, error)
        assert says in error["message"], (variables, error)


# Values GraphQL itself refuses while coercing the variables (not an enum value, not a date-time).
BAD_VARIABLES: list[dict[str, Any]] = [
    {"filter": {"kinds": ["TWEET"]}},
    {"filter": {"category": "wrong_value"}},  # the domain value, not the enum's name
    {"filter": {"since": "yesterday"}},
]


async def test_bad_variable_values_are_bad_user_input(client: httpx.AsyncClient) -> None:
    for variables in BAD_VARIABLES:
        body = await call(client, ALL, **variables)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, error)


async def test_too_long_a_series_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.analytics import schema

    await insert(runtime, *mixed_rows())  # six texts: five points by region and day
    monkeypatch.setattr(schema, "MAX_SERIES_POINTS", 4)
    body = await call(client, BY, by=["REGION"])
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 4 points, got 5" in error["message"]
    assert "coarser `bucket`" in error["message"]
    monthly = await call(client, "{ sentiment { series(bucket: MONTH) { count } } }")
    assert monthly["data"]["sentiment"]["series"] == [{"count": 6}]


# --- public, cacheable, described, costed ----------------------------------------------------

FULL = """{ sentiment(filter: {region: "FRA"}) {
  summary { count meanCompound shareNegative matched capped }
  series(by: [PUBLISHER], bucket: WEEK) { group { dimension value } bucketStart count }
  negativeTerms { term z }
  correctionEffects { ledgerIndex before { count } after { count } changeMeanCompound } } }"""


async def test_public_and_cacheable(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await insert(runtime, *mixed_rows())
    first = await client.get("/graphql", params={"query": FULL})
    assert first.status_code == 200, first.text
    body = first.json()
    assert "errors" not in body, body
    assert body["data"]["sentiment"]["summary"]["count"] == 4
    assert first.headers["cache-control"].startswith("public")
    assert first.headers["x-response-cache"] == "miss"
    cost = body["extensions"]["cost"]["requestedQueryCost"]
    # sentiment, summary; 100 points of 1 + 4 group values; 200 terms; 100 corrections of 3
    assert cost == 2 + 100 * (1 + 4) + 200 + 100 * 3
    assert cost <= Limits().max_query_cost
    again = await client.get("/graphql", params={"query": FULL})
    assert again.headers["x-response-cache"] == "hit"
    assert again.json()["data"] == body["data"]


NAMES = {
    "SentimentAnalytics",
    "SentimentFilter",
    "SentimentTextKind",
    "SentimentDimension",
    "SentimentBucket",
    "SentimentSummary",
    "SentimentWindow",
    "SentimentGroupValue",
    "SentimentPoint",
    "NegativeSentimentTerm",
    "CorrectionSentiment",
}


def test_every_type_field_argument_and_value_is_described() -> None:
    types = served_schema()._schema.type_map
    assert set(types) >= NAMES
    missing = []
    query = types["Query"]
    assert isinstance(query, GraphQLObjectType)
    fields = [("Query.sentiment", query.fields["sentiment"])]
    for name in sorted(NAMES):
        kind = types[name]
        if not kind.description:
            missing.append(name)
        if isinstance(kind, (GraphQLObjectType, GraphQLInputObjectType)):
            fields += [(f"{name}.{f}", field) for f, field in kind.fields.items()]
        if isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in kind.values.items() if not value.description]
    for path, field in fields:
        if not field.description:
            missing.append(path)
        for arg, argument in getattr(field, "args", {}).items():
            if not argument.description:
                missing.append(f"{path}({arg})")
    assert not missing, f"undescribed: {', '.join(missing)}"


def test_every_list_field_declares_its_size() -> None:
    from graphql import GraphQLList, GraphQLNonNull

    types = served_schema()._schema.type_map
    undeclared = []
    for name in sorted(NAMES):
        kind = types[name]
        if not isinstance(kind, GraphQLObjectType):
            continue
        for field_name, field in kind.fields.items():
            shape = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if isinstance(shape, GraphQLList):
                definition = (field.extensions or {}).get("strawberry-definition")
                if "list_size" not in (getattr(definition, "metadata", None) or {}):
                    undeclared.append(f"{name}.{field_name}")
    assert not undeclared, f"no list_size: {', '.join(undeclared)}"
