"""Tile paths and entry bundles: the C2SP examples, Go sumdb paths, and strict parsing."""

from __future__ import annotations

import json

import pytest

from ledger import tilepath as tp
from tests.ledger.vectors import vectors_dir

VECTORS = json.loads((vectors_dir() / "tiles/tile-path-vectors.json").read_text())
BY_SIZE = {v["tree_size"]: v for v in VECTORS["tiles_for_tree_size"]}


# --- The vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["index_path_encoding"], ids=lambda c: str(c["index"]))
def test_index_path_encoding(case):
    assert tp.encode_index(case["index"]) == case["path_element"]
    assert tp.decode_index(case["path_element"]) == case["index"]
    assert tp.parse_tile_path("tile/0/" + case["path_element"]).index == case["index"]


def _summary(tiles: list[tp.TilePath]) -> dict[str, int]:
    summary: dict[str, int] = {}
    for tile in tiles:
        if tile.is_partial:
            summary[f"level{tile.level}_partial_width"] = tile.width
        else:
            key = f"level{tile.level}_full"
            summary[key] = summary.get(key, 0) + 1
    return summary


def test_tiles_for_tree_size_70000():
    case = BY_SIZE[70000]
    tiles = tp.tiles_for_size(70000)
    assert _summary(tiles) == case["tiles"]
    assert [t.path for t in tiles if t.is_partial] == case["paths_of_partials"]
    assert [t.path for t in tiles if not t.is_partial][-2:] == ["tile/0/272", "tile/1/000"]


def test_tiles_for_tree_size_256():
    case = BY_SIZE[256]
    tiles = tp.tiles_for_size(256)
    assert [t.path for t in tiles] == case["paths"]
    expected = {k: v for k, v in case["tiles"].items() if v}  # width 0 means no partial tile
    assert _summary(tiles) == expected


def test_partial_widths_follow_the_spec_formula():
    # "The partial tile at level l for a tree of size s has floor(s / 256**l) mod 256 entries."
    for size in [1, 255, 256, 257, 65535, 65536, 70000, 16_777_217]:
        for tile in tp.tiles_for_size(size):
            if tile.is_partial:
                assert tile.width == (size // 256**tile.level) % 256


def test_go_sumdb_paths_carry_a_height_and_are_not_c2sp_paths():
    expected = {
        "tile/4/0/001": (4, 0, 1, 16),
        "tile/4/0/001.p/5": (4, 0, 1, 5),
        "tile/3/5/x123/x456/078": (3, 5, 123456078, 8),
        "tile/3/5/x123/x456/078.p/2": (3, 5, 123456078, 2),
        "tile/1/0/x003/x057/500": (1, 0, 3057500, 2),
    }
    assert sorted(expected) == sorted(VECTORS["go_sumdb_paths_seen_in_tests"])
    for path, (height, level, index, width) in expected.items():
        sumdb = tp.parse_sumdb_tile_path(path)
        assert (sumdb.height, sumdb.level, sumdb.index, sumdb.width) == (
            height,
            level,
            index,
            width,
        )
        with pytest.raises(tp.TilePathError, match=f"sumdb tile height is {height}, expected 8"):
            sumdb.to_c2sp()
        with pytest.raises(tp.TilePathError):
            tp.parse_tile_path(path)


def test_height_8_sumdb_paths_are_c2sp_paths_with_the_height_removed():
    assert tp.parse_sumdb_tile_path("tile/8/0/x001/x234/067.p/8").to_c2sp().path == (
        "tile/0/x001/x234/067.p/8"
    )
    assert tp.parse_sumdb_tile_path("tile/8/2/000.p/1").to_c2sp() == tp.TilePath(2, 0, 1)
    assert tp.parse_sumdb_tile_path("tile/8/data/x001/234").to_c2sp().path == (
        "tile/entries/x001/234"
    )


@pytest.mark.parametrize("path", VECTORS["go_sumdb_bad_paths"]["paths"])
def test_go_sumdb_bad_paths_are_rejected(path):
    with pytest.raises(tp.TilePathError):
        tp.parse_sumdb_tile_path(path)
    with pytest.raises(tp.TilePathError):
        tp.parse_tile_path(path)


def test_full_tile_is_256_hashes_and_partial_widths_are_1_to_255():
    rules = VECTORS["rules"]
    assert "full tile = exactly 256 hashes = 8192 bytes" in rules
    assert tp.TILE_WIDTH * 32 == 8192
    assert tp.parse_tile_path("tile/0/000.p/1").width == 1
    assert tp.parse_tile_path("tile/0/000.p/255").width == 255
    for width in ("0", "256", "08", "1000", ""):
        with pytest.raises(tp.TilePathError, match=r"width must be decimal 1..255"):
            tp.parse_tile_path(f"tile/0/000.p/{width}")


# --- Paths ------------------------------------------------------------------------------------


def test_tile_and_entry_paths():
    assert tp.tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tp.tile_path(0, 1234067, 8) == "tile/0/x001/x234/067.p/8"
    assert tp.tile_path(63, 0) == "tile/63/000"
    assert tp.entries_path(1234067) == "tile/entries/x001/x234/067"
    assert tp.entries_path(5, 17) == "tile/entries/005.p/17"
    parsed = tp.parse_tile_path("tile/entries/x001/x234/067.p/8")
    assert parsed == tp.TilePath(0, 1234067, 8, is_entries=True)
    assert str(parsed) == "tile/entries/x001/x234/067.p/8"


def test_paths_round_trip():
    for index in [0, 1, 9, 999, 1000, 1001, 999_999, 1_000_000, 123_456_789_012, (1 << 55) - 1]:
        for level in (0, 1, 63):
            for width in (1, 200, 256):
                path = tp.tile_path(level, index, width)
                assert tp.parse_tile_path(path) == tp.TilePath(level, index, width)
        assert tp.parse_tile_path(tp.entries_path(index)).index == index


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tile/64/000", "level must be decimal 0..63"),
        ("tile/01/000", "level must be decimal 0..63 without leading zeroes"),
        ("tile/-1/000", "level must be decimal"),
        ("tile/x/000", "level must be decimal"),
        ("tile/0/1", "3-digit path elements"),
        ("tile/0/0001", "3-digit path elements"),
        ("tile/0/1234", "3-digit path elements"),
        ("tile/0/001/234", "all but the last prefixed with 'x'"),
        ("tile/0/x001", "3-digit path elements"),
        ("tile/0/x000/001", "must be written '001'"),
        ("tile/0/x000/x001/234", "must be written 'x001/234'"),
        ("tile/0/X001/234", "3-digit path elements"),
        ("tile/0/x001/234/", "3-digit path elements"),
        ("tile/0/000.p/", "width must be decimal"),
        ("tile/0/000.p/5/", "expected 'tile/<L>/<N>"),
        ("tile/0/000.q/5", "expected 'tile/<L>/<N>"),
        ("/tile/0/000", "expected 'tile/<L>/<N>"),
        ("tile/0", "expected 'tile/<L>/<N>"),
        ("tile/entries", "expected 'tile/<L>/<N>"),
        ("tiles/0/000", "expected 'tile/<L>/<N>"),
        ("tile/0/٠٠٠", "3-digit path elements"),
        ("tile/0/x009/x223/x372/x036/x854/x775/808", "at most 2\\^63-1"),
    ],
)
def test_bad_tile_paths_are_rejected_with_a_reason(path, expected):
    with pytest.raises(tp.TilePathError, match=expected):
        tp.parse_tile_path(path)


def test_bad_tile_arguments_are_rejected():
    with pytest.raises(tp.TilePathError, match=r"tile level must be in 0..63, got 64"):
        tp.tile_path(64, 0)
    with pytest.raises(tp.TilePathError, match=r"tile width must be in 1..256, got 0"):
        tp.tile_path(0, 0, 0)
    with pytest.raises(tp.TilePathError, match=r"tile index must be in 0..9223372036854775807"):
        tp.tile_path(0, -1)
    with pytest.raises(tp.TilePathError, match="must be an int, got bool"):
        tp.tile_path(True, 0)
    with pytest.raises(tp.TilePathError, match=r"tile level must be in 0..0, got 1"):
        tp.TilePath(1, 0, is_entries=True)


# --- Tiles for a size -------------------------------------------------------------------------


def test_tiles_for_small_sizes():
    assert tp.tiles_for_size(0) == []
    assert [t.path for t in tp.tiles_for_size(1)] == ["tile/0/000.p/1"]
    assert [t.path for t in tp.tiles_for_size(257)] == [
        "tile/0/000",
        "tile/0/001.p/1",
        "tile/1/000.p/1",
    ]
    assert [t.path for t in tp.tiles_for_size(65536)][-3:] == [
        "tile/0/255",
        "tile/1/000",
        "tile/2/000.p/1",
    ]


def test_tiles_for_size_with_entry_bundles():
    paths = [t.path for t in tp.tiles_for_size(300, entries=True)]
    assert paths == [
        "tile/entries/000",
        "tile/entries/001.p/44",
        "tile/0/000",
        "tile/0/001.p/44",
        "tile/1/000.p/1",
    ]


def test_every_hash_of_a_tree_lies_in_exactly_one_tile():
    for size in [1, 255, 256, 511, 512, 65_537, 70_000]:
        tiles = tp.tiles_for_size(size)
        level = 0
        while size >> (8 * level):
            in_level = [t for t in tiles if t.level == level]
            assert sum(t.width for t in in_level) == size >> (8 * level)
            assert [t.index for t in in_level] == list(range(len(in_level)))
            assert all(not t.is_partial for t in in_level[:-1])
            level += 1
        assert all(t.level < level for t in tiles)


# --- Entry bundles ----------------------------------------------------------------------------


def test_entry_bundle_round_trips():
    entries = [b"", b"a", b"\x00" * 300, b"x" * 65535]
    data = tp.encode_entry_bundle(entries)
    assert data[:2] == b"\x00\x00" and data[2:5] == b"\x00\x01a"
    assert tp.decode_entry_bundle(data) == entries
    assert tp.decode_entry_bundle(data, width=4) == entries


def test_full_entry_bundle_holds_256_entries():
    entries = [bytes([i]) for i in range(256)]
    assert tp.decode_entry_bundle(tp.encode_entry_bundle(entries), 256) == entries


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], "needs 1..256 entries, got 0"),
        ([b"x"] * 257, "at most 256 entries, got 257"),
        ([b"ok", b"x" * 65536], "entry 1 is 65536 bytes, expected at most 65535"),
        (["text"], "entry 0 must be bytes, got str"),
    ],
)
def test_entry_bundles_that_cannot_be_encoded(entries, expected):
    with pytest.raises(tp.EntryBundleError, match=expected):
        tp.encode_entry_bundle(entries)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "entry bundle is empty"),
        (b"\x00", "entry 0 length prefix is truncated: expected 2 bytes, got 1"),
        (b"\x00\x05abc", "entry 0 declares 5 bytes but only 3 remain"),
        (b"\x00\x01a\x00", "entry 1 length prefix is truncated"),
        (b"\x00\x00" * 257, "bytes after entry 255: expected at most 256 entries"),
    ],
)
def test_malformed_entry_bundles_are_rejected(data, expected):
    with pytest.raises(tp.EntryBundleError, match=expected):
        tp.decode_entry_bundle(data)


def test_entry_bundle_with_the_wrong_count_is_rejected():
    with pytest.raises(tp.EntryBundleError, match="has 2 entries, expected 3"):
        tp.decode_entry_bundle(tp.encode_entry_bundle([b"a", b"b"]), width=3)
