"""The sources domain's plain HTTP routes, beside GraphQL.

``GET /documents/{ledger_index}/original``: a publisher's document exactly as it was received.
The original is content-addressed (its SHA-256 names the file, ``ingest.documents.original_path``)
and never changes, so it is served as immutable with its SHA-256 as the ETag: anyone can hash what
they download, compare it with the document's `document` leaf and re-run the adapter on it.

``POST /documents``: a publisher submits a document too large for the ``submitDocument``
mutation. The body is the document's raw bytes (``Content-Type: application/octet-stream``, at
most ``MAX_UPLOAD_BYTES``); the format is the ``format`` query parameter (``publisher``, optional,
must be the credentials' own); the signed note, multi-line text, travels base64-encoded in the
``Corroborate-Signed-Note`` header. Credentials are checked before the body is read. The answer
is JSON: ``201`` with the document's ledger index and the ingestion summary (``200`` when the same
bytes were ingested before), or ``{"error": CODE, "message"}`` with the API's error codes — 401
UNAUTHENTICATED, 403 FORBIDDEN, 400 BAD_REQUEST/BAD_USER_INPUT, 413 PAYLOAD_TOO_LARGE, 415.
Neither the Authorization header nor the note is ever logged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry import relay

from api.auth.identity import TokenError
from api.auth.resource import misplaced_token, misplaced_token_message
from api.context import Context
from api.errors import ApiError, ErrorCode
from api.permissions import require_role
from api.sources.submit import (
    MAX_UPLOAD_BYTES,
    ROLE,
    SCOPE,
    decode_base64,
    submit,
    submitting_publisher,
    too_large,
)
from ingest.documents import original_path
from models.ingest import Document
from service.runtime import Runtime

IMMUTABLE = "public, max-age=31536000, immutable"
ORIGINAL_PATH = "/documents/{ledger_index:int}/original"
SUBMIT_PATH = "/documents"
NOTE_HEADER = "Corroborate-Signed-Note"
OCTET_STREAM = "application/octet-stream"
_STATUS = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
}

_DOCUMENT = Document.__table__  # type: ignore[attr-defined]


def original_url(base_url: str, ledger_index: int) -> str:
    """The absolute URL of a document's original, under the API's base URL."""
    return f"{base_url.rstrip('/')}/documents/{ledger_index}/original"


async def original(request: Request) -> Response:
    ledger_index: int = request.path_params["ledger_index"]
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        found = (
            await session.execute(
                select(_DOCUMENT.c.sha256, _DOCUMENT.c.name).where(
                    _DOCUMENT.c.ledger_index == ledger_index
                )
            )
        ).first()
    if found is None:
        return PlainTextResponse(
            f"no document at ledger index {ledger_index}: expected the index of a `document` "
            "leaf (Document.ledgerIndex)\n",
            status_code=404,
        )
    sha256, name = str(found.sha256), str(found.name)
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    path = original_path(runtime.settings.data_dir, sha256)
    if not path.is_file():
        return PlainTextResponse(
            f"the original of document {ledger_index} (sha256 {sha256}) is not in this "
            "server's store\n",
            status_code=404,
        )
    return FileResponse(path, media_type="application/octet-stream", headers=headers, filename=name)


class _Refused(Exception):
    """``POST /documents`` answered with an error: ``{"error": CODE, "message"}``."""

    def __init__(self, status: int, code: ErrorCode, message: str, **headers: str) -> None:
        super().__init__(message)
        self.response = JSONResponse(
            {"error": code.value, "message": message},
            status_code=status,
            headers={"Cache-Control": "no-store", **headers},
        )

    @classmethod
    def of(cls, error: ApiError) -> _Refused:
        headers = {"WWW-Authenticate": "Bearer"} if error.code is ErrorCode.UNAUTHENTICATED else {}
        return cls(_STATUS.get(error.code, 400), error.code, error.message, **headers)


async def _body(request: Request, cap: int) -> bytes:
    """The body, refused (413) as soon as it is known to be over ``cap`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _Refused.of(too_large(f"{int(declared):,} bytes", cap, "a document"))
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > cap:
            raise _Refused.of(too_large(f"more than {cap:,} bytes", cap, "a document"))
    return bytes(received)


async def submit_document(request: Request) -> Response:
    try:
        return await _submit(request)
    except ApiError as refused:
        return _Refused.of(refused).response
    except _Refused as refused:
        return refused.response


async def _submit(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    where = misplaced_token(request.query_params, request.cookies)
    if where is not None:
        raise _Refused(400, ErrorCode.BAD_REQUEST, misplaced_token_message(where))
    try:
        identity = await request.app.state.authenticator.identify(
            request.headers.get("authorization")
        )
    except TokenError as exc:
        raise _Refused(
            401,
            ErrorCode.UNAUTHENTICATED,
            str(exc),
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    context = Context(runtime=runtime, request=request, response=None, identity=identity)
    identity = require_role(context, ROLE, scope=SCOPE)
    publisher = submitting_publisher(identity, request.query_params.get("publisher"))
    format = request.query_params.get("format", "")
    if not format:
        raise _Refused(
            400,
            ErrorCode.BAD_REQUEST,
            "expected the document's format as the `format` query parameter (as `corroborate "
            "ingest --format` takes it, e.g. who-covid-19-global-data), got none",
        )
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != OCTET_STREAM:
        raise _Refused(
            415,
            ErrorCode.BAD_REQUEST,
            f"expected Content-Type {OCTET_STREAM} (the document's bytes as the body), got "
            f"{content_type[:100]!r}",
        )
    encoded_note = request.headers.get(NOTE_HEADER)
    if not encoded_note:
        raise _Refused(
            400,
            ErrorCode.BAD_REQUEST,
            f"expected the signed note, base64-encoded, in the {NOTE_HEADER} header, got none",
        )
    note = decode_base64(encoded_note.strip(), f"the {NOTE_HEADER} header, the signed note,")
    content = await _body(request, MAX_UPLOAD_BYTES)
    submitted = await submit(
        runtime, identity, publisher=publisher, format=format, content=content, note=note
    )
    report = submitted.report
    assert report.ledger_index is not None  # ingested or unchanged: a document leaf either way
    url = original_url(str(request.base_url), report.ledger_index)
    body: dict[str, Any] = {
        "status": report.status,
        "ledgerIndex": report.ledger_index,
        "sha256": report.sha256,
        "documentId": str(relay.GlobalID("Document", str(report.ledger_index))),
        "downloadUrl": url,
        "summary": report.as_dict(),
        "reconciliation": submitted.reconciliation,
    }
    created = report.status == "ingested"
    headers = {"Cache-Control": "no-store"}
    if created:
        headers["Location"] = url
    return JSONResponse(body, status_code=201 if created else 200, headers=headers)


routes = [
    Route(ORIGINAL_PATH, original, methods=["GET"]),
    Route(SUBMIT_PATH, submit_document, methods=["POST"]),
]
