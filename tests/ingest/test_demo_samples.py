"""The demo set in ``samples/demo/``: real extracts of several publishers for the same five
countries and six US states over 2020, listed in ``manifest.toml`` in the order to ingest them
(``samples/demo/README.md`` says what and why), and the publisher catalogue
``ingest/data/publishers.toml`` they name.

Always (no ``shared/`` needed): the manifest lists every extract once, in a sound order; each
extract is the file its README row and checksum describe, parses with its adapter and stays inside
its publisher's jurisdictions; every chosen place is covered by at least three publishers; the
catalogue agrees with the adapters. With ``../shared/data`` present, each extract is re-cut from
its original with the rule documented in the README and compared byte for byte.
"""

from __future__ import annotations

import csv
import datetime
import functools
import hashlib
import re
import tomllib
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from ingest.adapters import ADAPTERS, ParseResult, detect_format, get_adapter
from ingest.regions import region
from tests.conftest import shared_data_dir
from tests.ingest.support import SAMPLES

DEMO = SAMPLES / "demo"

# --- the cutting rule, as in samples/demo/README.md -------------------------------------------

COUNTRIES = {"France", "Germany", "Italy", "Spain", "United Kingdom"}  # JHU's Country/Region
STATES = {"California", "Connecticut", "Massachusetts", "New Jersey", "New York", "Washington"}

# (path under shared/data/real/ and under samples/demo/, place column, places kept,
#  date column, date format); None = no condition on that.
CUTS = [
    ("jhu_csse/time_series_covid19_confirmed_global.csv", "Country/Region", COUNTRIES, None, None),
    ("jhu_csse/time_series_covid19_deaths_global.csv", "Country/Region", COUNTRIES, None, None),
    ("jhu_csse/time_series_covid19_confirmed_US.csv", "Province_State", STATES, None, None),
    ("jhu_csse/time_series_covid19_deaths_US.csv", "Province_State", STATES, None, None),
    ("who/vintage-2020-11-09/WHO-COVID-19-global-data.csv", " Country_code", {"DE", "ES", "FR", "GB", "IT"}, "Date_reported", "%Y-%m-%d"),
    ("who/WHO-COVID-19-global-data.csv", " Country_code", {"DE", "ES", "FR", "GB", "IT"}, "Date_reported", "%Y-%m-%d"),
    ("ecdc/ecdc.csv", "geoId", {"DE", "ES", "FR", "IT", "UK"}, "dateRep", "%d/%m/%Y"),
    ("owid/owid-covid-data.csv", "iso_code", {"DEU", "ESP", "FRA", "GBR", "ITA"}, "date", "%Y-%m-%d"),
    ("italy_dpc/dpc-covid19-ita-andamento-nazionale.csv", None, None, "data", "%Y-%m-%dT%H:%M:%S"),
    ("rki/COVID-19-Todesfaelle_Deutschland.csv", None, None, "Berichtsdatum", "%Y-%m-%d"),
    ("rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv", None, None, "Meldedatum", "%Y-%m-%d"),
    ("nyt/us-states.csv", "state", STATES, "date", "%Y-%m-%d"),
    ("ctp/states_daily_4pm_et.csv", "state", {"CA", "CT", "MA", "NJ", "NY", "WA"}, "date", "%Y%m%d"),
]  # fmt: skip


def cut(original, place_column, places, date_column, date_format):
    """The header line, then every record that matches, byte for byte and in order."""
    lines = original.splitlines(keepends=True)  # no record spans lines in these files
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    kept = [lines[0]]
    for line in lines[1:]:
        record = dict(zip(header, next(csv.reader([line.decode("utf-8")])), strict=True))
        if place_column is not None and record[place_column] not in places:
            continue
        if date_column is not None:
            day = datetime.datetime.strptime(record[date_column], date_format)
            if day.year != 2020:
                continue
        kept.append(line)
    return b"".join(kept)


# --- what the set must show -----------------------------------------------------------------

# Region codes as the adapters emit them.
PLACES = ["ITA", "DEU", "FRA", "ESP", "GBR", "US-NY", "US-NJ", "US-CT", "US-MA", "US-WA", "US-CA"]
MIN_PUBLISHERS_PER_PLACE = 3
MAX_TOTAL_BYTES = 3_000_000

SLUGS = {"jhu-csse", "who", "ecdc", "owid", "nyt", "ctp", "it-dpc", "de-rki", "cdc"}
KINDS = {"official-agency", "academic-aggregator", "newsroom", "volunteer-project"}


@functools.cache
def manifest() -> list[dict[str, str]]:
    with (DEMO / "manifest.toml").open("rb") as handle:
        return list(tomllib.load(handle)["document"])


@functools.cache
def catalogue() -> dict[str, dict[str, Any]]:
    text = resources.files("ingest.data").joinpath("publishers.toml").read_text(encoding="utf-8")
    publishers = tomllib.loads(text)["publisher"]
    by_slug = {p["slug"]: p for p in publishers}
    assert len(by_slug) == len(publishers), "duplicate publisher slug"
    return by_slug


@functools.cache
def readme() -> str:
    return (DEMO / "README.md").read_text(encoding="utf-8")


@functools.cache
def parsed(path: str, fmt: str) -> ParseResult:
    return get_adapter(fmt).parse((DEMO / path).read_bytes())


def top_level(code: str) -> str:
    found = region(code)
    assert found is not None, f"unknown region {code}"
    while found.parent is not None:
        found = region(found.parent)
        assert found is not None
    return found.code


def _documents() -> list[tuple[str, str, str, str]]:
    return [(d["publisher"], d["format"], d["path"], d["name"]) for d in manifest()]


# --- always ---------------------------------------------------------------------------------


def test_manifest_lists_every_extract_once_in_cut_order() -> None:
    paths = [d["path"] for d in manifest()]
    on_disk = {str(p.relative_to(DEMO)) for p in DEMO.rglob("*.csv")}
    assert sorted(paths) == sorted(on_disk)
    assert len(set(paths)) == len(paths)
    assert paths == [path for path, *_ in CUTS], "manifest and CUTS should list the same order"
    for document in manifest():
        assert set(document) == {"publisher", "format", "path", "name"}, document
        assert document["name"] == document["path"].rsplit("/", 1)[-1]


def test_older_who_vintage_is_ingested_first() -> None:
    paths = [d["path"] for d in manifest()]
    assert paths.index("who/vintage-2020-11-09/WHO-COVID-19-global-data.csv") < paths.index(
        "who/WHO-COVID-19-global-data.csv"
    )


def test_demo_stays_small() -> None:
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < MAX_TOTAL_BYTES, f"samples/demo is {total:,} bytes"


@pytest.mark.parametrize(("publisher", "fmt", "path", "name"), _documents(), ids=lambda v: str(v))
def test_document_parses_and_is_documented(publisher: str, fmt: str, path: str, name: str) -> None:
    content = (DEMO / path).read_bytes()
    assert detect_format(content, name) == fmt
    result = parsed(path, fmt)
    assert result.format == fmt
    assert result.observations, f"{path}: no observations"
    assert result.records == len(content.splitlines()) - 1

    # The README row gives the records kept and the file's sha256 (in `sha256sum -c` form).
    row = next((line for line in readme().splitlines() if line.startswith(f"| `{path}`")), None)
    assert row is not None, f"README.md has no row for {path}"
    assert f"| {result.records:,} of " in row, row
    assert f"{hashlib.sha256(content).hexdigest()}  {path}" in readme()

    # Everything is inside the publisher's declared jurisdictions.
    jurisdictions = set(catalogue()[publisher]["jurisdictions"])
    if "*" not in jurisdictions:
        outside = {o.region for o in result.observations} - {
            o.region for o in result.observations if top_level(o.region) in jurisdictions
        }
        assert not outside, f"{path}: regions outside {sorted(jurisdictions)}: {sorted(outside)}"


@pytest.mark.parametrize(("path", "date_column"), [(c[0], c[3]) for c in CUTS if c[3]])
def test_long_extracts_hold_2020_only(path: str, date_column: str) -> None:
    fmt = next(d["format"] for d in manifest() if d["path"] == path)
    years = {o.date.year for o in parsed(path, fmt).observations}
    assert years == {2020}, (path, date_column, years)


def test_every_place_is_covered_by_three_publishers() -> None:
    publishers: dict[str, set[str]] = defaultdict(set)
    for publisher, fmt, path, _ in _documents():
        for code in {o.region for o in parsed(path, fmt).observations}:
            publishers[code].add(publisher)
    thin = {
        place: sorted(publishers[place])
        for place in PLACES
        if len(publishers[place]) < MIN_PUBLISHERS_PER_PLACE
    }
    assert not thin, f"places with fewer than {MIN_PUBLISHERS_PER_PLACE} publishers: {thin}"


def test_readme_shows_the_cutting_code_this_test_runs() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    ours = source[source.index("COUNTRIES = ") : source.index("# --- what the set must show")]
    block = re.search(r"```python\n(.*?)```", readme(), re.DOTALL)
    assert block is not None, "README.md has no python block"
    shown = block.group(1)
    shown = shown[shown.index("COUNTRIES = ") : shown.index("\n\nfor path")]
    assert shown.strip() == ours.replace("  # fmt: skip", "").strip()


def test_manifest_publishers_and_formats_are_in_the_catalogue() -> None:
    for document in manifest():
        publisher = catalogue().get(document["publisher"])
        assert publisher is not None, f"{document['publisher']!r} is not in publishers.toml"
        assert document["format"] in publisher["formats"], document


def test_catalogue_entries_are_complete() -> None:
    assert set(catalogue()) == SLUGS
    for slug, publisher in catalogue().items():
        for field in ("name", "homepage", "licence", "kind"):
            assert isinstance(publisher.get(field), str) and publisher[field].strip(), (slug, field)
        assert publisher["homepage"].startswith("https://"), slug
        assert publisher["kind"] in KINDS, (slug, publisher["kind"])
        conventions = publisher["conventions"]
        lag = conventions["report_lag_days"]
        assert isinstance(lag, int) and not isinstance(lag, bool) and lag >= 0, (slug, lag)
        description = conventions["description"]
        assert isinstance(description, str) and description.strip(), slug
        if re.search(r"\bnot declared\b", description, re.IGNORECASE):
            assert lag == 0, f"{slug}: a lag nobody declared must be 0"


def test_catalogue_formats_are_the_adapters() -> None:
    owners: dict[str, list[str]] = defaultdict(list)
    for slug, publisher in catalogue().items():
        for fmt in publisher["formats"]:
            owners[fmt].append(slug)
    assert set(owners) == set(ADAPTERS), "every adapter belongs to one publisher, and only those"
    assert all(len(slugs) == 1 for slugs in owners.values()), dict(owners)


def test_catalogue_jurisdictions_are_top_level_regions() -> None:
    for slug, publisher in catalogue().items():
        jurisdictions = publisher["jurisdictions"]
        assert jurisdictions and len(set(jurisdictions)) == len(jurisdictions), slug
        if "*" in jurisdictions:
            assert jurisdictions == ["*"], slug
            continue
        for code in jurisdictions:
            found = region(code)
            assert found is not None and found.parent is None, (slug, code)


# --- with ../shared/data --------------------------------------------------------------------


@pytest.mark.parametrize(("path", "place_column", "places", "date_column", "date_format"), CUTS)
def test_extract_is_recut_from_the_original(
    path: str,
    place_column: str | None,
    places: set[str] | None,
    date_column: str | None,
    date_format: str | None,
) -> None:
    shared = shared_data_dir()
    if shared is None:
        pytest.skip(
            f"../shared/data is missing: cannot re-cut samples/demo/{path} from its original"
        )
    original = (shared / "real" / path).read_bytes()
    row = next(line for line in readme().splitlines() if line.startswith(f"| `{path}`"))
    assert f"`{hashlib.sha256(original).hexdigest()[:8]}…`" in row, "README: original's sha256"
    assert (DEMO / path).read_bytes() == cut(
        original, place_column, places, date_column, date_format
    )
