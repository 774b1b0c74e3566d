"""C2SP tlog-tiles read path: ``/checkpoint``, ``/tile/<L>/<N>[.p/<W>]``, ``/tile/entries/<N>[.p/<W>]``.

Full tiles never change, so they are served as immutable; the checkpoint and partial tiles are
not cached. The same files are written by ``corroborate ledger export``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ledger.store import TILE_WIDTH
from ledger.tilepath import TilePathError, encode_entry_bundle, parse_tile_path
from service.runtime import Runtime

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def checkpoint(request: Request) -> Response:
    runtime = _runtime(request)
    async with runtime.sessions() as session:
        latest = await runtime.log.latest_checkpoint(session)
    return Response(
        latest.note_with_cosignatures,
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": NO_CACHE},
    )


async def tile(request: Request) -> Response:
    path = "tile/" + request.path_params["rest"]
    try:
        parsed = parse_tile_path(path)
    except TilePathError as exc:
        return PlainTextResponse(f"bad tile path: {exc}\n", status_code=400)
    runtime = _runtime(request)
    async with runtime.sessions() as session:
        size = await runtime.log.size(session)
        if parsed.is_entries:
            start = parsed.index * TILE_WIDTH
            if start + parsed.width > size:
                return PlainTextResponse("no such tile at the log's size\n", status_code=404)
            body = encode_entry_bundle(
                await runtime.log.entries(session, start, start + parsed.width)
            )
        else:
            stored = await runtime.log.tile(session, parsed.level, parsed.index)
            want = parsed.width * 32
            if stored is None or len(stored) < want:
                return PlainTextResponse("no such tile at the log's size\n", status_code=404)
            body = stored[:want]
    cache = IMMUTABLE if parsed.width == TILE_WIDTH else NO_CACHE
    return Response(body, media_type="application/octet-stream", headers={"Cache-Control": cache})


routes = [
    Route("/checkpoint", checkpoint, methods=["GET"]),
    Route("/tile/{rest:path}", tile, methods=["GET"]),
]
