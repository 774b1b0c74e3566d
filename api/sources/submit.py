"""Publishers submitting documents through the API: who may, the caps, and what runs.

Shared by the ``submitDocument`` mutation (api/sources/mutations.py: the document base64-encoded
inside a GraphQL request, so small files only) and ``POST /documents`` (api/sources/routes.py:
the raw bytes as the body, for large files). Both run exactly what ``corroborate ingest`` runs —
``ingest.documents.ingest_document`` with the runtime's writer sessions, log and data dir, then
the CLI's re-reconciliation once a first reconciliation run exists — so a document is checked,
kept and logged the same way whichever door it came through.

Who may: a caller holding the ``publisher`` role and, for tokens of our own authorization server,
the ``publish`` scope (``api.permissions.require_role``), whose credentials are bound to a
publisher (a publisher's client-credentials client, or a member whose publisher role names one).
The document is for that publisher: the publisher is taken from the credentials, and one named
in the request must be the same. An ``admin`` holds every role but is bound to no publisher, so
it cannot submit for one either.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Any

from api.auth.identity import Identity
from api.errors import ApiError, ErrorCode
from ingest.adapters import FormatError
from ingest.documents import DocumentError, IngestReport, ingest_document
from ingest.publishers import PublisherError
from ingest.reconcile.engine import ReconcileError
from service.reconciliation import reconcile_after
from service.runtime import Runtime

log = logging.getLogger("corroborate.submit")

#: the role and scope a caller needs to submit
ROLE, SCOPE = "publisher", "publish"
#: largest document ``submitDocument`` takes (its bytes, before base64): base64 makes it 87,384
#: characters, which with the signed note and the query fits the GraphQL body cap (100 kB by
#: default, ``CORROBORATE_API_MAX_BODY_BYTES``). Larger documents go to ``POST /documents``.
MAX_GRAPHQL_DOCUMENT_BYTES = 64 * 1024
#: largest body ``POST /documents`` takes (ingestion holds the whole document in memory)
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
#: longest signed note accepted (a statement and a few signature lines are about 400 bytes)
MAX_NOTE_BYTES = 8 * 1024
#: times the re-reconciliation is tried when another run finished while it was computing
RECONCILE_ATTEMPTS = 3

_BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
#: what ingestion refuses a document with: the submitter's to fix, nothing was written
_REFUSALS = (DocumentError, FormatError, PublisherError)


def submitting_publisher(identity: Identity, requested: str | None) -> str:
    """The publisher ``identity`` (already holding the role and scope) submits for; FORBIDDEN
    when its credentials are bound to none or ``requested`` names another."""
    if identity.publisher is None:
        raise ApiError(
            "expected credentials bound to a publisher (its client-credentials client, or a "
            "member whose publisher role names one), got credentials bound to none",
            ErrorCode.FORBIDDEN,
        )
    if requested is not None and requested != identity.publisher:
        raise ApiError(
            f"expected documents for {identity.publisher!r}, the publisher these credentials "
            f"are bound to, got a document for {requested[:70]!r}",
            ErrorCode.FORBIDDEN,
        )
    return identity.publisher


def decode_base64(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4): the alphabet A–Z a–z 0–9 + /, ``=`` padding to a
    multiple of 4 characters, no line breaks or spaces; BAD_USER_INPUT saying what is wrong."""
    expected = (
        f"expected {what} in standard base64 (RFC 4648: A-Z a-z 0-9 + /, padded with = to a "
        "multiple of 4 characters, no line breaks: `base64 -w0`)"
    )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    position = next((i for i, c in enumerate(text) if c not in _BASE64_ALPHABET), None)
    if position is not None:
        found = f"got {text[position]!r} at character {position}"
    elif len(text) % 4:
        found = f"got {len(text)} characters, not a multiple of 4"
    else:
        found = "got `=` padding before the end"
    raise ApiError(f"{expected}, {found}", ErrorCode.BAD_USER_INPUT)


def too_large(found: str, cap: int, what: str, hint: str = "") -> ApiError:
    return ApiError(
        f"expected {what} of at most {cap:,} bytes, got {found}" + (f": {hint}" if hint else ""),
        ErrorCode.PAYLOAD_TOO_LARGE,
        maxBytes=cap,
    )


@dataclass(frozen=True)
class Submitted:
    report: IngestReport
    #: the re-reconciliation's report (``ReconcileReport.as_dict``), None when none ran
    reconciliation: dict[str, Any] | None


async def submit(
    runtime: Runtime,
    identity: Identity,
    *,
    publisher: str,
    format: str,
    content: bytes,
    note: bytes,
) -> Submitted:
    """Ingest ``content`` for ``publisher`` as ``corroborate ingest`` does; a refused document is
    BAD_USER_INPUT with ingestion's own message, and nothing was written (all or nothing)."""
    if len(note) > MAX_NOTE_BYTES:
        raise ApiError(
            f"expected a signed note of at most {MAX_NOTE_BYTES:,} bytes, got {len(note):,}",
            ErrorCode.BAD_USER_INPUT,
        )
    try:
        report = await ingest_document(
            runtime.write_sessions,
            runtime.log,
            runtime.settings.data_dir,
            publisher=publisher,
            format=format,
            content=content,
            note=note,
        )
    except _REFUSALS as exc:
        raise ApiError(" ".join(str(exc).split()), ErrorCode.BAD_USER_INPUT) from None
    log.info(
        "document submitted",
        extra={
            "publisher": publisher,
            "subject": identity.subject,
            "status": report.status,
            "sha256": report.sha256,
            "ledger_index": report.ledger_index,
        },
    )
    reconciliation = None
    if report.status != "unchanged":
        for attempt in range(1, RECONCILE_ATTEMPTS + 1):
            try:
                reconciliation = await reconcile_after(runtime)
                break
            except ReconcileError as exc:  # another run finished meanwhile: the next one covers us
                if attempt == RECONCILE_ATTEMPTS:
                    report.notes.append(
                        f"the document is ingested, but reconciling it did not run ({exc}); the "
                        "next ingestion or `corroborate reconcile` will cover it"
                    )
    return Submitted(report, reconciliation)
