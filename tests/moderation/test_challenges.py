"""Filing a challenge: every limit, texts kept as typed, URLs, duplicate keys, system challenges."""

from __future__ import annotations

import datetime as dt

import pytest

from moderation.actors import SYSTEM, Actor
from moderation.challenges import (
    MAX_CLAIMED_VALUE,
    Category,
    ChallengeFiling,
    TargetKind,
    duplicate_key,
    figure_target_id,
    system_challenge,
)
from moderation.errors import ChallengeRefused, Code

from .support import FILER, FRESH_MOD, OTHER_MEMBER, PUBLISHER_CLIENT, filing


def refused(actor: Actor = FILER, **changes: object) -> ChallengeRefused:
    with pytest.raises(ChallengeRefused) as caught:
        filing(actor, **changes)
    return caught.value


def test_a_member_files_a_challenge_on_a_figure():
    challenge = filing()
    assert challenge.filer == FILER.id and not challenge.system
    assert challenge.target.kind is TargetKind.FIGURE
    assert challenge.category is Category.WRONG_VALUE
    assert challenge.record() == {
        "category": "wrong_value",
        "claimed_value": 1694,
        "evidence": {
            "links": ["https://github.com/pcm-dpc/COVID-19/blob/master/README.md"],
            "text": "The ministry's file says 1,694 for that day.",
        },
        "target": {"id": "ITA/cases_cumulative/2020-03-01", "kind": "figure"},
        "version_seen": 2,
    }


@pytest.mark.parametrize("kind", ["observation", "document"])
def test_observations_and_documents_are_named_by_ledger_index(kind):
    challenge = filing(target_kind=kind, target_id="812", version_seen=None)
    assert challenge.target.id == "812" and challenge.version_seen is None
    for bad in ("0812", "-1", "8 12", "", "ITA/cases_cumulative/2020-03-01", 812):
        error = refused(target_kind=kind, target_id=bad, version_seen=None)
        assert error.field == "target.id"
    error = refused(target_kind=kind, target_id="812", version_seen=1)
    assert error.field == "version_seen" and "names one exact version" in error.message


def test_every_category_of_the_issue_is_accepted_and_nothing_else():
    assert [c.value for c in Category] == [
        "wrong_value",
        "wrong_date",
        "wrong_place",
        "double_counting",
        "missing_data",
        "definition_change",
        "other",
    ]
    for category in Category:
        assert filing(category=category.value).category is category
    error = refused(category="WRONG_VALUE")
    assert error.code is Code.BAD_USER_INPUT
    assert error.message.startswith("category: expected one of wrong_value, wrong_date")
    assert "got 'WRONG_VALUE'" in error.message


@pytest.mark.parametrize("actor", [PUBLISHER_CLIENT, SYSTEM, Actor("account:9")], ids=str)
def test_only_signed_in_members_file(actor):
    error = refused(actor)
    assert error.code is Code.FORBIDDEN
    assert "expected a signed-in member" in error.message


def test_a_moderator_is_a_member_and_may_file():
    assert filing(FRESH_MOD).filer == FRESH_MOD.id


@pytest.mark.parametrize(
    "target_id",
    [
        "ITA/cases_cumulative/2020-02-30",  # no such day
        "ita/cases_cumulative/2020-03-01",
        "ITA/Cases/2020-03-01",
        "ITA/cases_cumulative/20200301",
        "ITA/cases_cumulative/2020-03-01/x",
        "<script>/cases/2020-03-01",
    ],
)
def test_a_figure_is_named_region_metric_date(target_id):
    error = refused(target_id=target_id)
    assert error.field == "target.id"
    assert "REGION/metric/YYYY-MM-DD" in error.message


def test_figure_ids_for_regions_of_every_level():
    for region in ("FRA", "US-NY", "US-FIPS-36061", "CA-ON"):
        assert filing(target_id=f"{region}/deaths_daily/2021-01-31").target.id.startswith(region)
    assert figure_target_id("ITA", "cases_cumulative", dt.date(2020, 3, 1)) == (
        "ITA/cases_cumulative/2020-03-01"
    )
    with pytest.raises(ChallengeRefused):
        figure_target_id("ITA", "cases cumulative", "2020-03-01")


@pytest.mark.parametrize("bad", [None, 0, -1, True, 1.0, "2", 2**53])
def test_a_figure_challenge_names_the_version_seen(bad):
    error = refused(version_seen=bad)
    assert error.field == "version_seen"
    assert "the figure version seen (an integer >= 1)" in error.message


def test_a_target_kind_outside_the_three_is_refused():
    error = refused(target_kind="region")
    assert (
        error.message == "target.kind: expected one of figure, observation, document, got 'region'"
    )


@pytest.mark.parametrize("bad", [-MAX_CLAIMED_VALUE - 1, True, 1.5, "12", MAX_CLAIMED_VALUE + 1])
def test_a_claimed_value_is_a_safe_integer(bad):
    error = refused(claimed_value=bad)
    assert error.field == "claimed_value"


def test_claimed_values_at_the_edges_and_none():
    assert filing(claimed_value=0).claimed_value == 0
    assert filing(claimed_value=-349_116).claimed_value == -349_116  # a daily count's revision
    assert filing(claimed_value=-MAX_CLAIMED_VALUE).claimed_value == -MAX_CLAIMED_VALUE
    assert filing(claimed_value=MAX_CLAIMED_VALUE).claimed_value == MAX_CLAIMED_VALUE
    assert filing(claimed_value=None).claimed_value is None


# --- evidence: links --------------------------------------------------------------------------


def test_up_to_ten_links():
    links = [f"https://example.org/{i}" for i in range(10)]
    assert filing(links=links).evidence.links == tuple(links)
    error = refused(links=[*links, "https://example.org/10"])
    assert error.message == "evidence.links: expected at most 10 links, got 11"
    assert filing(links=None).evidence.links == ()


def test_a_link_is_at_most_2000_characters():
    base = "https://example.org/"
    assert filing(links=[base + "a" * (2000 - len(base))])
    error = refused(links=["https://ok.example/", base + "a" * (2001 - len(base))])
    assert error.field == "evidence.links[1]"
    assert "at most 2,000 characters, got 2,001" in error.message


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("javascript:alert(1)", "expected an http or https URL, got scheme 'javascript'"),
        ("data:text/html,<script>alert(1)</script>", "got scheme 'data'"),
        ("ftp://example.org/file.csv", "got scheme 'ftp'"),
        ("//example.org/x", "got scheme 'none'"),
        ("example.org/x", "got scheme 'none'"),
        ("https:///path-only", "expected a URL with a host"),
        ("https://user:secret@example.org/", "without a user name or password"),
        ("https://example.org/a b", "got U+0020"),
        ("https://exämple.org/", "got U+00E4"),
        ("https://example.org/\n", "got U+000A"),
        ("https://example.org:99999/", "expected a URL, got"),
        ("https://[::1/", "expected a URL, got"),
    ],
)
def test_bad_links_are_refused_with_the_reason(link, expected):
    error = refused(links=[link])
    assert error.code is Code.BAD_USER_INPUT and error.field == "evidence.links[0]"
    assert expected in error.message


def test_links_are_kept_as_typed():
    links = ["HTTPS://Example.org/Report?id=1&x=%20#p3", "http://127.0.0.1:8080/"]
    assert filing(links=links).evidence.links == tuple(links)


def test_a_link_given_twice_or_not_as_a_list_is_refused():
    assert refused(links=["https://a.example/", "https://a.example/"]).field == "evidence.links[1]"
    assert refused(links="https://a.example/").message.startswith(
        "evidence.links: expected a list of URLs, got str"
    )


# --- evidence: text ---------------------------------------------------------------------------


def test_the_text_is_at_most_5000_characters_counted_after_nfc():
    assert len(filing(text="x" * 5000).evidence.text) == 5000
    error = refused(text="x" * 5001)
    assert error.message == "evidence.text: expected at most 5,000 characters, got 5,001"
    decomposed = "e\u0301" * 5000  # 10,000 code points as typed, 5,000 after NFC
    assert filing(text=decomposed).evidence.text == "\u00e9" * 5000


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(document.cookie)</script>",
        '<img src=x onerror="alert(1)">',
        "&lt;b&gt; &amp; <b>not bold</b>",
        "'; DROP TABLE challenge; --",
        "{{7*7}} ${7*7}",
        "\u202eevil\u202c and \u200bzero width",
        "emoji 👩‍⚕️ and 中文 and עברית",
    ],
)
def test_html_and_script_are_kept_verbatim(text):
    assert filing(text=text).evidence.text == text
    assert filing(text=text).record()["evidence"]["text"] == text


def test_newlines_and_tabs_are_kept():
    assert filing(text="line 1\nline 2\n\tindented").evidence.text == "line 1\nline 2\n\tindented"


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\r", "U+000D"),
        ("\x00", "U+0000"),
        ("\x1b", "U+001B"),
        ("\x7f", "U+007F"),
        ("\x85", "U+0085"),
        ("\x0b", "U+000B"),
    ],
)
def test_control_characters_are_refused(char, name):
    error = refused(text=f"ok{char}")
    assert error.field == "evidence.text"
    assert error.message == (
        "evidence.text: expected text without control characters other than newline and tab, "
        f"got a control character {name} at position 2"
    )


def test_a_lone_surrogate_is_refused():
    error = refused(text="a\ud800b")
    assert "a lone surrogate U+D800 at position 1" in error.message


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_the_text_is_required(text):
    assert refused(text=text).message == "evidence.text: expected a non-empty text, got nothing"


def test_the_text_must_be_a_string():
    assert refused(text=None).message == "evidence.text: expected a string, got NoneType"


# --- duplicate keys ---------------------------------------------------------------------------


def test_the_same_claim_on_the_same_target_is_a_duplicate_whoever_files_it_and_however():
    first = filing()
    again = filing(OTHER_MEMBER, version_seen=3, links=[], text="Same thing, other words.")
    assert first.duplicate_key() == again.duplicate_key()
    assert len(first.duplicate_key()) == 64


@pytest.mark.parametrize(
    "changes",
    [
        {"claimed_value": 1695},
        {"claimed_value": None},
        {"category": "double_counting"},
        {"target_id": "ITA/cases_cumulative/2020-03-02"},
        {"target_id": "ITA/deaths_cumulative/2020-03-01"},
        {"target_kind": "observation", "target_id": "1694", "version_seen": None},
    ],
    ids=str,
)
def test_another_claim_or_target_is_not_a_duplicate(changes):
    assert filing(**changes).duplicate_key() != filing().duplicate_key()


def test_no_claimed_value_differs_from_a_claim_of_zero():
    assert filing(claimed_value=None).duplicate_key() != filing(claimed_value=0).duplicate_key()


# --- system challenges --------------------------------------------------------------------------


def _dispute() -> ChallengeFiling:
    return system_challenge(
        region="ITA",
        metric="cases_cumulative",
        date=dt.date(2020, 3, 1),
        version=3,
        spread=1400,
        lineages=[("who", 1294), ("it-dpc", 1694), ("ecdc", 2694)],
    )


def test_reconciliation_opens_a_system_challenge_on_a_disputed_figure():
    challenge = _dispute()
    assert challenge.system and challenge.filer == "system"
    assert challenge.target.id == "ITA/cases_cumulative/2020-03-01"
    assert challenge.version_seen == 3
    assert (challenge.category, challenge.claimed_value) == (Category.WRONG_VALUE, None)
    assert challenge.evidence.text == (
        "Reconciliation attested ITA cases_cumulative on 2020-03-01 (version 3) as DISPUTED: "
        "its 3 independent lineages differ by 1,400 (who 1,294, it-dpc 1,694, ecdc 2,694). "
        "Opened by the system for a moderator to review."
    )


def test_a_member_saying_the_disputed_value_is_wrong_duplicates_the_system_challenge():
    member = filing(claimed_value=None, version_seen=3)
    assert member.duplicate_key() == _dispute().duplicate_key()
    assert duplicate_key(member.target, member.category, None) == member.duplicate_key()


@pytest.mark.parametrize(
    ("spread", "lineages"),
    [(0, [("who", 5)]), (3, [("who", 5), ("ecdc", 9)]), (0, [("who", 5), ("ecdc", 5)])],
)
def test_an_inconsistent_dispute_is_a_programming_error(spread, lineages):
    with pytest.raises(ValueError):
        system_challenge(
            region="ITA",
            metric="cases_cumulative",
            date=dt.date(2020, 3, 1),
            version=1,
            spread=spread,
            lineages=lineages,
        )
