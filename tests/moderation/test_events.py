"""The ``challenge-event`` leaf: the record's canonical form and its round trip through the
ledger's leaf bodies (RFC 8785)."""

from __future__ import annotations

import datetime as dt

import pytest
import rfc8785

from ledger.leaf import MAX_LEAF_BYTES, parse_leaf_body
from moderation.events import KIND, challenge_event_record, rfc3339
from moderation.workflow import Action, State, decide, open_challenge

from .support import FILER, MOD, NOW, filing, reach

PARIS = dt.timezone(dt.timedelta(hours=2))


def test_an_uphold_event_has_exactly_these_bytes():
    view = reach(State.IN_REVIEW)
    transition = decide(
        view,
        MOD,
        Action.UPHOLD,
        rationale="ECDC's file has 1,694 for that day",
        claimed_value_change=True,
        now=dt.datetime(2026, 11, 21, 15, 19, 20, 987654, tzinfo=PARIS),
    )
    assert transition.leaf() == (
        b"corroborate/challenge-event/v1\n"
        b'{"action":"uphold","actor":"account:10","at":"2026-11-21T13:19:20Z","challenge":42,'
        b'"changes_value":true,"duplicate_of":null,"filing":null,"from":"IN_REVIEW",'
        b'"rationale":"ECDC\'s file has 1,694 for that day","sequence":3,"to":"UPHOLD_PENDING",'
        b'"values":null}'
    )


def test_the_filing_event_carries_the_challenge():
    transition = open_challenge(filing(), challenge_id=42, now=NOW)
    kind, record = parse_leaf_body(transition.leaf())
    assert kind == KIND == "challenge-event"
    assert record["sequence"] == 0 and record["from"] is None and record["to"] == "OPEN"
    assert record["action"] == "file" and record["actor"] == FILER.id
    assert record["filing"] == filing().record()


@pytest.mark.parametrize(
    "rationale",
    [
        '<script>alert("x")</script>',
        "ligne\u00a01\n\tcafé — “quoted” \\ backslash",
        "emoji 👩‍⚕️ 中文 \u2028 separator",
        "\u202eright-to-left override",
    ],
)
def test_records_round_trip_through_canonical_leaf_bodies(rationale):
    transition = decide(reach(State.IN_REVIEW), MOD, Action.REJECT, rationale=rationale, now=NOW)
    body = transition.leaf()
    kind, record = parse_leaf_body(body)  # checks the payload is RFC 8785 canonical
    assert kind == KIND
    assert record == transition.record()
    assert record["rationale"] == rationale
    assert body.split(b"\n", 1)[1] == rfc8785.dumps(transition.record())


def test_the_largest_filing_fits_in_a_leaf():
    links = [f"https://example.org/{i}/" + "a" * 1970 for i in range(10)]
    challenge = filing(links=links, text="𝄞" * 5000)  # 4 bytes each in UTF-8
    body = open_challenge(challenge, challenge_id=2**40, now=NOW).leaf()
    assert 40_000 < len(body) <= MAX_LEAF_BYTES
    assert parse_leaf_body(body)[1]["filing"]["evidence"]["text"] == "𝄞" * 5000


def test_every_event_has_the_same_keys():
    view = reach(State.UPHELD)
    records = [
        open_challenge(filing(), challenge_id=42, now=NOW).record(),
        decide(view, FILER, Action.APPEAL, rationale="still wrong", now=NOW).record(),
    ]
    for record in records:
        assert sorted(record) == [
            "action",
            "actor",
            "at",
            "challenge",
            "changes_value",
            "duplicate_of",
            "filing",
            "from",
            "rationale",
            "sequence",
            "to",
            "values",
        ]


def test_times_are_rfc3339_utc_to_the_second():
    assert (
        rfc3339(dt.datetime(2026, 1, 1, 1, 30, 59, 999999, tzinfo=PARIS)) == "2025-12-31T23:30:59Z"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        rfc3339(dt.datetime(2026, 1, 1))


def test_values_are_carried_for_corrections():
    record = challenge_event_record(
        challenge=42,
        sequence=5,
        from_state="UPHOLD_PENDING",
        to_state="UPHELD",
        action="confirm_uphold",
        actor="account:11",
        at=NOW,
        rationale="checked",
        changes_value=True,
        values={"old": 1294, "new": 1694},
    )
    assert record["values"] == {"new": 1694, "old": 1294}


def test_only_the_filing_has_sequence_zero_and_no_from_state():
    with pytest.raises(ValueError):
        challenge_event_record(
            challenge=1, sequence=0, from_state="OPEN", to_state="TRIAGED", action="triage",
            actor="account:1", at=NOW, rationale="",
        )  # fmt: skip
    with pytest.raises(ValueError):
        challenge_event_record(
            challenge=1, sequence=3, from_state=None, to_state="OPEN", action="file",
            actor="account:1", at=NOW, rationale="",
        )  # fmt: skip
