"""``GET /documents/{ledger_index}/original``: a publisher's document exactly as it was received.

The original is content-addressed (its SHA-256 names the file, ``ingest.documents.original_path``)
and never changes, so it is served as immutable with its SHA-256 as the ETag: anyone can hash what
they download, compare it with the document's `document` leaf and re-run the adapter on it.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from api.runtime import Runtime
from ingest.documents import original_path
from models.ingest import Document

IMMUTABLE = "public, max-age=31536000, immutable"
ORIGINAL_PATH = "/documents/{ledger_index:int}/original"

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


routes = [Route(ORIGINAL_PATH, original, methods=["GET"])]
