"""Tile paths and entry bundles of a tiled transparency log (c2sp.org/tlog-tiles).

Tiles are served at ``tile/<L>/<N>[.p/<W>]`` and entry bundles at ``tile/entries/<N>[.p/<W>]``:

* ``<L>`` is the level, ASCII decimal 0..63 without leading zeroes;
* ``<N>`` is the tile index in zero-padded 3-digit path elements, all but the last prefixed
  with ``x``: 1234067 is ``x001/x234/067``, 1000 is ``x001/000``, 0 is ``000``;
* ``.p/<W>`` marks a partial tile of width ``W`` in 1..255. A full tile holds 256 hashes.

For a tree of ``s`` leaves, level ``l`` has ``s // 256**(l+1)`` full tiles and, when
``(s // 256**l) % 256`` is not zero, one partial tile of that width; the levels stop when
``s // 256**l`` is zero. Partial tiles are never hashed into the level above.

An entry bundle is a sequence of entries, each a big-endian uint16 length followed by that many
bytes; it holds 1..256 entries (empty bundles are never served).

Go's sumdb (golang.org/x/mod/sumdb/tlog) uses the same layout with the tile height in the path,
``tile/<H>/<L>/<N>[.p/<W>]`` (and ``data`` for the level of entries). C2SP fixes ``H = 8``, so
only height-8 sumdb paths name C2SP tiles: ``parse_sumdb_tile_path`` reads any height and
``SumdbTilePath.to_c2sp`` converts the height-8 ones.

Pure functions of their arguments: no I/O; standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

TILE_WIDTH = 256
TILE_HEIGHT = 8
MAX_LEVEL = 63
MAX_INDEX = (1 << 63) - 1
MAX_ENTRY_BYTES = 0xFFFF
MAX_BUNDLE_ENTRIES = TILE_WIDTH

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_INDEX = re.compile(r"(?:x[0-9]{3}/)*[0-9]{3}")
_TILE = re.compile(r"tile/(?P<level>entries|[^/]+)/(?P<index>[^.]+?)(?:\.p/(?P<width>[^/]*))?")
_SUMDB_TILE = re.compile(
    r"tile/(?P<height>[^/]+)/(?P<level>data|[^/]+)/(?P<index>[^.]+?)(?:\.p/(?P<width>[^/]*))?"
)


class TilePathError(ValueError):
    """A tile path, level, index or width that tlog-tiles does not allow."""


class EntryBundleError(ValueError):
    """An entry bundle that cannot be encoded or decoded."""


def _show(value: str | bytes, limit: int = 60) -> str:
    text = repr(value[:limit])
    return text + ("…" if len(value) > limit else "")


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TilePathError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise TilePathError(f"{name} must be in {low}..{high}, got {value}")


@dataclass(frozen=True)
class TilePath:
    """A tile (or, with ``is_entries``, an entry bundle) and its width (256 when full)."""

    level: int
    index: int
    width: int = TILE_WIDTH
    is_entries: bool = False

    def __post_init__(self) -> None:
        _check_int("tile level", self.level, 0, 0 if self.is_entries else MAX_LEVEL)
        _check_int("tile index", self.index, 0, MAX_INDEX)
        _check_int("tile width", self.width, 1, TILE_WIDTH)

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """The path below the log prefix, e.g. ``tile/0/x001/x234/067.p/8``."""
        level = "entries" if self.is_entries else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{level}/{encode_index(self.index)}{suffix}"

    def __str__(self) -> str:
        return self.path


def encode_index(index: int) -> str:
    """The ``<N>`` path elements of a tile index: ``x001/x234/067`` for 1234067."""
    _check_int("tile index", index, 0, MAX_INDEX)
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def decode_index(text: str) -> int:
    """The tile index of canonical ``<N>`` path elements; rejects any other spelling."""
    if not _INDEX.fullmatch(text):
        raise TilePathError(
            "tile index must be 3-digit path elements, all but the last prefixed with 'x' "
            f"(e.g. x001/x234/067), got {_show(text)}"
        )
    index = int(text.replace("x", "").replace("/", ""))
    if index > MAX_INDEX:
        raise TilePathError(f"tile index must be at most 2^63-1, got {index}")
    canonical = encode_index(index)
    if canonical != text:
        raise TilePathError(
            f"tile index {index} must be written {canonical!r} (no extra zero elements), "
            f"got {_show(text)}"
        )
    return index


def _parse_width(text: str | None) -> int:
    if text is None:
        return TILE_WIDTH
    if not _WIDTH.fullmatch(text) or not 1 <= int(text) < TILE_WIDTH:
        raise TilePathError(
            f"partial tile width must be decimal 1..255 without leading zeroes, got {_show(text)}"
        )
    return int(text)


def _parse_level(text: str) -> int:
    if not _LEVEL.fullmatch(text) or int(text) > MAX_LEVEL:
        raise TilePathError(
            f"tile level must be decimal 0..{MAX_LEVEL} without leading zeroes, got {_show(text)}"
        )
    return int(text)


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """The path of tile ``index`` at ``level``; a width below 256 makes it partial."""
    return TilePath(level, index, width).path


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """The path of entry bundle ``index``; a width below 256 makes it partial."""
    return TilePath(0, index, width, is_entries=True).path


def parse_tile_path(path: str) -> TilePath:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``; strict."""
    if not isinstance(path, str):
        raise TilePathError(f"tile path must be a str, got {type(path).__name__}")
    match = _TILE.fullmatch(path)
    if match is None:
        raise TilePathError(
            f"expected 'tile/<L>/<N>[.p/<W>]' or 'tile/entries/<N>[.p/<W>]', got {_show(path)}"
        )
    level_text = match["level"]
    is_entries = level_text == "entries"
    level = 0 if is_entries else _parse_level(level_text)
    index = decode_index(match["index"])
    return TilePath(level, index, _parse_width(match["width"]), is_entries)


@dataclass(frozen=True)
class SumdbTilePath:
    """A Go sumdb tile path ``tile/<H>/<L>/<N>[.p/<W>]``; level -1 is written ``data``."""

    height: int
    level: int
    index: int
    width: int

    def to_c2sp(self) -> TilePath:
        """The same tile as a C2SP tile path; only height-8 sumdb tiles have one."""
        if self.height != TILE_HEIGHT:
            raise TilePathError(
                f"sumdb tile height is {self.height}, expected {TILE_HEIGHT}: "
                "C2SP tiles are always 8 levels (256 hashes) high"
            )
        if self.level == -1:
            return TilePath(0, self.index, self.width, is_entries=True)
        return TilePath(self.level, self.index, self.width)


def parse_sumdb_tile_path(path: str) -> SumdbTilePath:
    """Parse a Go sumdb tile path; the height is 1..30 and the width 1..2**height - 1."""
    if not isinstance(path, str):
        raise TilePathError(f"tile path must be a str, got {type(path).__name__}")
    match = _SUMDB_TILE.fullmatch(path)
    if match is None:
        raise TilePathError(f"expected 'tile/<H>/<L>/<N>[.p/<W>]', got {_show(path)}")
    height_text = match["height"]
    if not _LEVEL.fullmatch(height_text) or not 1 <= int(height_text) <= 30:
        raise TilePathError(
            f"sumdb tile height must be decimal 1..30 without leading zeroes, "
            f"got {_show(height_text)}"
        )
    height = int(height_text)
    level = -1 if match["level"] == "data" else _parse_level(match["level"])
    index = decode_index(match["index"])
    width = 1 << height
    if match["width"] is not None:
        width_text = match["width"]
        if not re.fullmatch(r"[1-9][0-9]*", width_text) or int(width_text) >= 1 << height:
            raise TilePathError(
                f"partial tile width must be decimal 1..{(1 << height) - 1} without leading "
                f"zeroes, got {_show(width_text)}"
            )
        width = int(width_text)
    return SumdbTilePath(height, level, index, width)


def tiles_for_size(size: int, *, entries: bool = False) -> list[TilePath]:
    """Every tile a tree of ``size`` leaves is served as, level by level, left to right.

    With ``entries`` the entry bundles come first. The list has about ``size / 255`` items.
    """
    _check_int("tree size", size, 0, MAX_INDEX)
    tiles: list[TilePath] = []
    if entries:
        tiles.extend(_level_tiles(0, size, is_entries=True))
    level = 0
    while size >> (TILE_HEIGHT * level):
        tiles.extend(_level_tiles(level, size))
        level += 1
    return tiles


def _level_tiles(level: int, size: int, *, is_entries: bool = False) -> list[TilePath]:
    hashes = size >> (TILE_HEIGHT * level)  # hashes at this level: full subtrees of 256**level
    full, width = divmod(hashes, TILE_WIDTH)
    tiles = [TilePath(level, n, TILE_WIDTH, is_entries) for n in range(full)]
    if width:
        tiles.append(TilePath(level, full, width, is_entries))
    return tiles


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Concatenate 1..256 entries, each prefixed by its big-endian uint16 length."""
    if not entries:
        raise EntryBundleError("an entry bundle needs 1..256 entries, got 0")
    if len(entries) > MAX_BUNDLE_ENTRIES:
        raise EntryBundleError(
            f"an entry bundle holds at most {MAX_BUNDLE_ENTRIES} entries, got {len(entries)}"
        )
    parts = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, bytes):
            raise EntryBundleError(f"entry {number} must be bytes, got {type(entry).__name__}")
        if len(entry) > MAX_ENTRY_BYTES:
            raise EntryBundleError(
                f"entry {number} is {len(entry)} bytes, expected at most {MAX_ENTRY_BYTES}"
            )
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def decode_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """Split an entry bundle into its entries; ``width``, if given, is the expected count."""
    if not isinstance(data, bytes):
        raise EntryBundleError(f"entry bundle must be bytes, got {type(data).__name__}")
    if not data:
        raise EntryBundleError("entry bundle is empty: expected 1..256 entries")
    entries: list[bytes] = []
    position = 0
    while position < len(data):
        if len(entries) == MAX_BUNDLE_ENTRIES:
            raise EntryBundleError(
                f"entry bundle has bytes after entry {MAX_BUNDLE_ENTRIES - 1}: "
                f"expected at most {MAX_BUNDLE_ENTRIES} entries"
            )
        if position + 2 > len(data):
            raise EntryBundleError(
                f"entry {len(entries)} length prefix is truncated: expected 2 bytes, "
                f"got {len(data) - position}"
            )
        length = int.from_bytes(data[position : position + 2], "big")
        start = position + 2
        if start + length > len(data):
            raise EntryBundleError(
                f"entry {len(entries)} declares {length} bytes but only {len(data) - start} remain"
            )
        entries.append(data[start : start + length])
        position = start + length
    if width is not None and len(entries) != width:
        raise EntryBundleError(f"entry bundle has {len(entries)} entries, expected {width}")
    return entries
