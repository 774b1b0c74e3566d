"""Mutations of the sources domain: ``submitDocument``, a publisher sending a signed document.

The document travels base64-encoded inside the GraphQL request, so it must fit the request body
cap: at most ``MAX_GRAPHQL_DOCUMENT_BYTES`` (64 KiB) before encoding. Larger files go to
``POST /documents`` (api/sources/routes.py), which takes the raw bytes. Who may submit, and what
runs, is api/sources/submit.py's, shared by both.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.permissions import Publisher, require_role
from api.sources import dataloaders
from api.sources.submit import (
    MAX_GRAPHQL_DOCUMENT_BYTES,
    ROLE,
    SCOPE,
    Submitted,
    decode_base64,
    submit,
    submitting_publisher,
    too_large,
)
from api.sources.types import Document

#: base64 characters that decode to at most MAX_GRAPHQL_DOCUMENT_BYTES bytes
_MAX_ENCODED = 4 * -(-MAX_GRAPHQL_DOCUMENT_BYTES // 3)
_LARGER = "send larger documents to POST /documents as raw bytes (docs/api.md)"


@strawberry.input(description="A publisher's document and the signed note that vouches for it.")
class SubmitDocumentInput:
    format: str = strawberry.field(
        description="The document's format, as `corroborate ingest --format` takes it and its "
        "signed statement names it, e.g. who-covid-19-global-data."
    )
    content: str = strawberry.field(
        description="The document's bytes exactly as published, in standard base64 (RFC 4648: "
        "A-Z a-z 0-9 + /, padded with =, no line breaks), at most "
        f"{MAX_GRAPHQL_DOCUMENT_BYTES:,} bytes before encoding; larger documents go to "
        "POST /documents."
    )
    note: str = strawberry.field(
        description="The signed note: the document statement (publisher, format, name, size, "
        "sha256, signed), a blank line and the publisher's signature line(s), as "
        "`ingest.documents.sign_document` makes it."
    )
    publisher: str | None = strawberry.field(
        default=None,
        description="The publisher's slug; when given it must be the one the credentials are "
        "bound to (the default).",
    )


@strawberry.enum(description="What became of a submitted document.")
class SubmissionStatus(enum.Enum):
    INGESTED = strawberry.enum_value(
        "ingested", description="New: kept, on the log, its observations recorded."
    )
    UNCHANGED = strawberry.enum_value(
        "unchanged",
        description="The same bytes were ingested before: nothing was written, and `document` "
        "is the earlier one.",
    )


@strawberry.type(description="A name in the document the adapter could not place on a region.")
class UnmappedName:
    name: str = strawberry.field(description="The name as the document gives it.")
    rows: int = strawberry.field(description="How many records carry it.")
    reason: str = strawberry.field(description="Why it could not be placed.")


@strawberry.type(description="A value refused on its own; the rest of the document stands.")
class RefusedValue:
    record: int = strawberry.field(description="The data record (1 = the first after the header).")
    field: str = strawberry.field(description="The column.")
    reason: str = strawberry.field(description="Why it was refused.")


@strawberry.type(
    description="What ingestion read and wrote: the summary `corroborate ingest --json` prints "
    "(docs/ingest.md)."
)
class IngestionSummary:
    rows_read: int = strawberry.field(description="Data records read, header excluded.")
    observations_parsed: int = strawberry.field(description="Values accepted from them.")
    new: int = strawberry.field(description="Observations the publisher had not given before.")
    revised: int = strawberry.field(
        description="Observations that changed a value it gave before (a new version each)."
    )
    unchanged: int = strawberry.field(description="Values equal to its current ones: not added.")
    skipped_empty_cells: int = strawberry.field(description="Blank cells (never read as zero).")
    unmapped: list[UnmappedName] = strawberry.field(
        description="Names the adapter could not place, with their record counts."
    )
    rows_refused: int = strawberry.field(description="Values refused one by one.")
    refusals: list[RefusedValue] = strawberry.field(
        description="The refused values (the first 100).", metadata={"list_size": 100}
    )
    notes: list[str] = strawberry.field(
        description="What the adapter and ingestion want said (roll-ups, rows left out, "
        "duplicates, a reconciliation that could not run)."
    )
    leaves_appended: int = strawberry.field(description="Ledger leaves this submission appended.")
    ledger_size: int = strawberry.field(description="The log's size after it.")


@strawberry.type(
    description="The reconciliation a new document set off (once figures exist at all): its "
    "figures are re-attested with the new observations."
)
class ReconciliationSummary:
    run: int | None = strawberry.field(description="The reconciliation run's number.")
    mode: str = strawberry.field(description="full, incremental or scoped.")
    regions: int = strawberry.field(description="Regions it reconciled.")
    figures: int = strawberry.field(description="Figures it computed.")
    new_versions: int = strawberry.field(description="Figures that got a new version.")
    unchanged: int = strawberry.field(description="Figures that stayed as they were.")


@strawberry.type(description="The outcome of `submitDocument`.")
class SubmitDocumentPayload:
    status: SubmissionStatus = strawberry.field(description="Ingested, or seen before.")
    ledger_index: int = strawberry.field(description="The document's `document` leaf on the log.")
    document: Document = strawberry.field(description="The document as now kept.")
    summary: IngestionSummary = strawberry.field(description="What ingestion read and wrote.")
    reconciliation: ReconciliationSummary | None = strawberry.field(
        description="The reconciliation it set off; null when none ran (the document was seen "
        "before, or no figures exist yet: the first reconciliation is an operator's decision)."
    )


def _summary(submitted: Submitted) -> IngestionSummary:
    report = submitted.report
    return IngestionSummary(
        rows_read=report.records,
        observations_parsed=report.observations,
        new=report.new,
        revised=report.revised,
        unchanged=report.unchanged,
        skipped_empty_cells=report.skipped_empty,
        unmapped=[
            UnmappedName(name=u["name"], rows=u["rows"], reason=u["reason"])
            for u in report.unmapped
        ],
        rows_refused=report.refused,
        refusals=[
            RefusedValue(record=r["row"], field=r["field"], reason=r["reason"])
            for r in report.refusals
        ],
        notes=list(report.notes),
        leaves_appended=report.leaves,
        ledger_size=report.log_size,
    )


def _reconciliation(found: dict[str, Any] | None) -> ReconciliationSummary | None:
    if found is None:
        return None
    return ReconciliationSummary(
        run=found["run"],
        mode=found["mode"],
        regions=found["regions"],
        figures=found["figures"],
        new_versions=found["new_versions"],
        unchanged=found["unchanged"],
    )


@strawberry.type
class SourcesMutation:
    @strawberry.mutation(
        description="Submit a signed document as its publisher (client credentials with the "
        "`publish` scope, or a member with the publisher role): it is checked against its "
        "signed statement and the publisher's keys, kept byte for byte, logged and parsed — or "
        "refused whole with BAD_USER_INPUT, leaving no trace. Sending the same bytes again "
        f"answers UNCHANGED. At most {MAX_GRAPHQL_DOCUMENT_BYTES:,} bytes: larger documents go "
        "to POST /documents.",
        permission_classes=[Publisher],
    )
    async def submit_document(
        self,
        info: Info[Context, None],
        input: Annotated[
            SubmitDocumentInput, strawberry.argument(description="The document and its note.")
        ],
    ) -> SubmitDocumentPayload:
        identity = require_role(info.context, ROLE, scope=SCOPE)
        publisher = submitting_publisher(identity, input.publisher)
        if len(input.content) > _MAX_ENCODED:
            found = f"{len(input.content):,} base64 characters (about {len(input.content) * 3 // 4:,} bytes)"
            raise too_large(found, MAX_GRAPHQL_DOCUMENT_BYTES, "a document", _LARGER)
        content = decode_base64(input.content, "`content`, the document's bytes,")
        if len(content) > MAX_GRAPHQL_DOCUMENT_BYTES:
            found = f"{len(content):,} bytes"
            raise too_large(found, MAX_GRAPHQL_DOCUMENT_BYTES, "a document", _LARGER)
        submitted = await submit(
            info.context.runtime,
            identity,
            publisher=publisher,
            format=input.format,
            content=content,
            note=input.note.encode("utf-8"),
        )
        ledger_index = submitted.report.ledger_index
        assert ledger_index is not None  # ingested or unchanged: a document leaf either way
        row = await dataloaders.documents_by_ledger_index(info.context).load(ledger_index)
        if row is None:  # it was just committed (or found): a missing row is a broken database
            raise LookupError(f"expected the document at ledger index {ledger_index}, found none")
        return SubmitDocumentPayload(
            status=SubmissionStatus(submitted.report.status),
            ledger_index=ledger_index,
            document=Document.of(row),
            summary=_summary(submitted),
            reconciliation=_reconciliation(submitted.reconciliation),
        )
