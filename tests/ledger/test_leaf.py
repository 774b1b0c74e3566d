"""Leaf bodies: domain-separated, RFC 8785 canonical, so equal records hash equally."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785

from ledger import merkle
from ledger.leaf import KINDS, MAX_LEAF_BYTES, LeafError, leaf_body, parse_leaf_body


def test_body_is_prefix_and_canonical_json() -> None:
    body = leaf_body("observation", {"value": 1694, "region": "ITA", "ratio": 1.0, "name": "é"})
    assert body == (
        b'corroborate/observation/v1\n{"name":"\xc3\xa9","ratio":1,"region":"ITA","value":1694}'
    )


def test_equal_records_hash_equally_whatever_their_key_order() -> None:
    one = leaf_body("attestation", {"b": [1, 2], "a": {"y": 1, "x": 2}})
    two = leaf_body("attestation", {"a": {"x": 2, "y": 1}, "b": [1, 2]})
    assert merkle.leaf_hash(one) == merkle.leaf_hash(two)


def test_kinds_are_domain_separated() -> None:
    record = {"id": 1}
    hashes = {merkle.leaf_hash(leaf_body(kind, record)) for kind in KINDS}
    assert len(hashes) == len(KINDS) == 7


def test_round_trip_and_rejects_non_canonical_bodies() -> None:
    body = leaf_body("correction", {"old": 3, "new": 4})
    assert parse_leaf_body(body) == ("correction", {"new": 4, "old": 3})
    with pytest.raises(LeafError, match="not an RFC 8785 canonical"):
        parse_leaf_body(b'corroborate/correction/v1\n{"old":3, "new":4}')
    with pytest.raises(LeafError, match="expected a body starting"):
        parse_leaf_body(b"corroborate/correction/v2\n{}")
    with pytest.raises(LeafError, match="unknown leaf kind 'gossip'"):
        parse_leaf_body(b"corroborate/gossip/v1\n{}")


def test_bad_records_are_refused_with_what_was_expected() -> None:
    with pytest.raises(LeafError, match="expected one of attestation, challenge-event"):
        leaf_body("rumour", {})
    with pytest.raises(LeafError, match="must be a JSON object, got list"):
        leaf_body("document", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(LeafError, match="cannot be canonicalised"):
        leaf_body("document", {"x": float("nan")})
    with pytest.raises(LeafError, match=f"expected at most {MAX_LEAF_BYTES}"):
        leaf_body("document", {"x": "a" * MAX_LEAF_BYTES})


@pytest.mark.parametrize(
    "record",
    [
        {
            "s": '\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f"\\/ é \u2028 \U0001d11e',
            "n": [0, -1, 2**53 - 1],
        },
        {"z": 1, "A": 2, "_": 3, "a": {"y": None, "b": True, "c": False}, "": ""},
        {"region": "US-FIPS-36061", "date": "2020-04-01", "value": -(2**53) + 1, "l": []},
        {"big": 2**53 - 1, "float": 1.5, "é": "non-ASCII key takes the slow path"},
    ],
)
def test_fast_canonical_path_writes_the_rfc8785_bytes(record: dict[str, Any]) -> None:
    assert leaf_body("observation", record) == b"corroborate/observation/v1\n" + rfc8785.dumps(
        record
    )
