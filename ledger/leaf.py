"""Leaf bodies: ``corroborate/<kind>/v1\\n`` followed by the record as RFC 8785 canonical JSON.

The prefix separates the kinds of record, so that no record of one kind can be read as another;
RFC 8785 (JSON Canonicalization Scheme) makes equal records serialise to equal bytes everywhere,
so they hash equally on every platform.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

KINDS: frozenset[str] = frozenset(
    {"document", "observation", "attestation", "challenge-event", "correction", "key"}
)
MAX_LEAF_BYTES = 65_535  # a C2SP entry bundle stores each entry's length in 16 bits
_PREFIX = re.compile(rb"^corroborate/([a-z][a-z\-]*)/v1\n")


class LeafError(ValueError):
    """A leaf body or record that is not what the log accepts."""


def leaf_body(kind: str, record: dict[str, Any]) -> bytes:
    """The bytes appended to the log for ``record`` of ``kind``."""
    if kind not in KINDS:
        raise LeafError(f"unknown leaf kind {kind!r}: expected one of {', '.join(sorted(KINDS))}")
    if not isinstance(record, dict):
        raise LeafError(f"a leaf record must be a JSON object, got {type(record).__name__}")
    try:
        canonical = rfc8785.dumps(record)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise LeafError(f"record cannot be canonicalised as RFC 8785 JSON: {exc}") from None
    body = b"corroborate/" + kind.encode() + b"/v1\n" + canonical
    if len(body) > MAX_LEAF_BYTES:
        raise LeafError(f"leaf body is {len(body)} bytes, expected at most {MAX_LEAF_BYTES}")
    return body


def parse_leaf_body(body: bytes) -> tuple[str, dict[str, Any]]:
    """The kind and record of a leaf body; raises LeafError if it is not canonical."""
    match = _PREFIX.match(body)
    if match is None:
        raise LeafError(f"expected a body starting 'corroborate/<kind>/v1\\n', got {body[:40]!r}")
    kind = match.group(1).decode()
    if kind not in KINDS:
        raise LeafError(f"unknown leaf kind {kind!r}")
    payload = body[match.end() :]
    try:
        record = json.loads(payload)
    except ValueError as exc:
        raise LeafError(f"leaf record is not JSON: {exc}") from None
    if not isinstance(record, dict) or rfc8785.dumps(record) != payload:
        raise LeafError("leaf record is not an RFC 8785 canonical JSON object")
    return kind, record
