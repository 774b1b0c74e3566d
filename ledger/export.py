"""Write the log as static files (checkpoint, hash tiles, entry bundles) for object storage.

The layout is the C2SP tlog-tiles one served by the API, so a CDN in front of the files serves
the same URLs. Tiles are written before the checkpoint, so a reader never sees a checkpoint whose
tiles are missing; full tiles already present with the same bytes are left alone.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from ledger.store import TILE_WIDTH, LedgerCorrupt, TransparencyLog
from ledger.tilepath import encode_entry_bundle, tiles_for_size


@dataclass(frozen=True)
class ExportResult:
    size: int
    files: int
    bytes: int


def _write(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically; False if the file already holds exactly these bytes."""
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


async def export_log(session: AsyncSession, log: TransparencyLog, directory: Path) -> ExportResult:
    checkpoint = await log.latest_checkpoint(session)
    size = checkpoint.size
    files = written = 0
    for tile in tiles_for_size(size, entries=True):
        if tile.is_entries:
            start = tile.index * TILE_WIDTH
            data = encode_entry_bundle(await log.entries(session, start, start + tile.width))
        else:
            stored = await log.tile(session, tile.level, tile.index)
            if stored is None or len(stored) < tile.width * 32:
                raise LedgerCorrupt(f"tile {tile.path} is missing from the database")
            data = stored[: tile.width * 32]
        if _write(directory / tile.path, data):
            files += 1
            written += len(data)
    note = checkpoint.note_with_cosignatures
    _write(directory / "checkpoint", note)
    return ExportResult(size=size, files=files + 1, bytes=written + len(note))
