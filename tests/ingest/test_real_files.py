"""Every publisher file in ``../shared/data/real/`` and ``../shared/data/eval/``, signed with a key
made here, ingested through ``ingest_document`` into a real database, and its report checked
against figures computed in this module from the raw CSV with nothing but the ``csv`` module.

What the figures rest on is written down here, from the adapters' documentation and the
publishers' provenance notes, not taken from the adapters:

- rows read: the CSV's data records;
- long tables (one record per place and date): one observation per non-blank cell of the metric
  columns of each record whose place is a region, less the refused ones (a negative cumulative
  count, or a second value for the same place, date and metric);
- JHU's wide tables: one observation per date column for each row that is a region of its own,
  plus, per date column, one roll-up for each country (global) or state (US) built from its rows
  (``JHU_GLOBAL_*`` and ``Wide._us`` below say which rows are which);
- unmapped names: the places listed below as none, with their record counts;
- refusals: negative cumulative counts and repeated (place, date, metric) cells, counted the same
  way (none of these files has either);
- new, revised, unchanged: against the publisher's earlier document of the same series (WHO's
  2020-11-09 vintage before its 2020-12-13 one; CTP's repository file before its website
  download), by a cell-by-cell diff of the two CSVs; every other document is all new.

Each document's stored observation rows are counted too, the log's size is checked against the
leaves the reports say were appended, and ``verify_documents`` re-derives three documents
(including WHO's revised vintage) from their kept originals.

Backends: each file is ingested once, on one backend. PostgreSQL gets the two JHU US county
files, which alone hold 2.6 of the 4.0 million observations; SQLite gets every other file, the
revised vintages with what they revise. Every file still goes through the same parse, screen,
chunked ledger append and bulk insert on both backends (chunks of 20,000, so WHO's 300,000
observations run that loop 16 times), and ingesting each file twice took the module past its
time budget (seven minutes of a thirty-minute suite). Without PostgreSQL, SQLite gets them all.

Without ``../shared/data`` the tests skip, or fail when ``CORROBORATE_REQUIRE_SHARED_DATA=1``.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ingest.documents import IngestReport, ingest_document, sign_document, verify_documents
from ingest.publishers import add_key, add_publisher, catalogue
from ledger.note import generate_signer
from models import Observation
from service.runtime import open_runtime
from service.settings import load_settings
from tests.conftest import BACKENDS, TEST_ORIGIN, pg_create, pg_drop, pg_url, shared_data_dir

# --- what the files are, and what the test knows about them --------------------------------


@dataclass
class Expected:
    """Figures computed from the raw CSV. ``values`` (series key -> count) is kept only for a
    document a later one revises."""

    records: int = 0
    observations: int = 0
    skipped_empty: int = 0
    unmapped: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    values: dict[tuple[str, ...], int] | None = None


Key = tuple[str, ...]  # (series, place as the publisher wrote it, ISO date, metric column)


class Tally:
    """Accepts or refuses values in record order, as a publisher's document is screened."""

    def __init__(self, keep_values: bool) -> None:
        self.expected = Expected(values={} if keep_values else None)
        self.seen: set[Key] = set()

    def cell(self, key: Key, cell: str, cumulative: bool) -> None:
        if cell == "":
            self.expected.skipped_empty += 1
            return
        value = int(cell)
        if (cumulative and value < 0) or key in self.seen:
            self.expected.refused += 1
            return
        self.seen.add(key)
        self.expected.observations += 1
        if self.expected.values is not None:
            self.expected.values[key] = value


def records(content: bytes) -> tuple[list[str], Iterator[list[str]]]:
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    return next(reader), reader


@dataclass(frozen=True)
class Long:
    """A long table: one record per place and date, one column per metric."""

    series: str
    date: str
    day: Callable[[str], str]  # the publisher's date -> YYYY-MM-DD
    place: tuple[str, ...]  # columns naming the place
    metrics: tuple[tuple[str, bool], ...]  # (column, cumulative?)
    unmapped: Callable[[dict[str, str]], str | None] = lambda record: None
    keep: Callable[[dict[str, str]], bool] = lambda record: True

    def expect(self, content: bytes, keep_values: bool) -> Expected:
        header, rows = records(content)
        tally = Tally(keep_values)
        for fields in rows:
            tally.expected.records += 1
            record = dict(zip(header, fields, strict=True))
            if not self.keep(record):
                continue
            name = self.unmapped(record)
            if name is not None:
                tally.expected.unmapped[name] += 1
                continue
            place = "|".join(record[c] for c in self.place)
            day = self.day(record[self.date])
            for column, cumulative in self.metrics:
                tally.cell((self.series, place, day, column), record[column], cumulative)
        return tally.expected


def iso(value: str) -> str:
    return value[:10]


def compact(value: str) -> str:  # YYYYMMDD
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}"


def day_month_year(value: str) -> str:  # DD/MM/YYYY
    d, m, y = value.split("/")
    return f"{y}-{m}-{d}"


def month_day_year(value: str) -> str:  # MM/DD/YYYY or M/D/YY
    m, d, y = value.split("/")
    return f"{'20' + y if len(y) == 2 else y}-{int(m):02d}-{int(d):02d}"


CUMULATIVE, DAILY = True, False

WHO = Long(
    "who",
    "Date_reported",
    iso,
    (" Country_code", " Country"),
    (
        (" New_cases", DAILY),
        (" Cumulative_cases", CUMULATIVE),
        (" New_deaths", DAILY),
        (" Cumulative_deaths", CUMULATIVE),
    ),
    # WHO's "Other" (no country code) is the cruise ships.
    unmapped=lambda r: r[" Country"] if r[" Country"] == "Other" else None,
)
ECDC = Long(
    "ecdc",
    "dateRep",
    day_month_year,
    ("geoId",),
    (("cases", DAILY), ("deaths", DAILY)),
    unmapped=lambda r: (
        r["countriesAndTerritories"]
        if r["countriesAndTerritories"] == "Cases_on_an_international_conveyance_Japan"
        else None
    ),
)
OWID = Long(
    "owid",
    "date",
    iso,
    ("iso_code", "location"),
    (
        ("total_cases", CUMULATIVE),
        ("new_cases", DAILY),
        ("total_deaths", CUMULATIVE),
        ("new_deaths", DAILY),
    ),
    # "International" (cruise ships, no code) and the aggregate "World" (OWID_WRL).
    unmapped=lambda r: r["location"] if r["location"] in {"International", "World"} else None,
)
NYT = Long(
    "nyt", "date", iso, ("state",), (("cases", CUMULATIVE), ("deaths", CUMULATIVE))
)  # fmt: skip
CTP_METRICS = (
    ("positive", CUMULATIVE),
    ("positiveIncrease", DAILY),
    ("death", CUMULATIVE),
    ("deathIncrease", DAILY),
)
CTP_REPOSITORY = Long("ctp", "date", compact, ("state",), CTP_METRICS)
CTP_WEBSITE = Long("ctp", "date", iso, ("state",), CTP_METRICS)
DPC = Long(
    "dpc",
    "data",
    iso,
    ("stato",),
    (("totale_casi", CUMULATIVE), ("nuovi_positivi", DAILY), ("deceduti", CUMULATIVE)),
)
RKI_DEATHS = Long(
    "rki-report-date",
    "Berichtsdatum",
    iso,
    (),
    (("Faelle_gesamt", CUMULATIVE), ("Todesfaelle_gesamt", CUMULATIVE), ("Todesfaelle_neu", DAILY)),
)
RKI_INCIDENCE = Long(
    "rki-notification-date",
    "Meldedatum",
    iso,
    (),
    (("Faelle_gesamt", CUMULATIVE), ("Faelle_neu", DAILY)),
    keep=lambda r: r["Altersgruppe"] == "00+",  # all ages; age groups are left out
)
CDC = Long(
    "cdc",
    "submission_date",
    month_day_year,
    ("state",),
    (
        ("tot_cases", CUMULATIVE),
        ("new_case", DAILY),
        ("tot_death", CUMULATIVE),
        ("new_death", DAILY),
    ),
)

# JHU global: rows that are no region ("Province/State, Country/Region", or the country alone),
# rows that count only towards their country's roll-up, and province rows with an ISO code of
# their own under a country that is rolled up (they are not part of its roll-up).
JHU_GLOBAL_UNMAPPED = {"Channel Islands, United Kingdom", "Diamond Princess", "MS Zaandam"}
JHU_GLOBAL_TOTAL_ONLY = {
    "Diamond Princess, Canada",
    "Grand Princess, Canada",
    "Repatriated Travellers, Canada",
    "Unknown, China",
}
JHU_GLOBAL_OWN_COUNTRY = {"Hong Kong, China", "Macau, China"}
# JHU US: Province_State values that are no state.
JHU_US_UNMAPPED = {"Diamond Princess", "Grand Princess"}


@dataclass(frozen=True)
class Wide:
    """JHU's wide tables: fixed columns, then one cumulative column per day."""

    series: str
    us: bool

    def expect(self, content: bytes, keep_values: bool) -> Expected:
        header, rows = records(content)
        first = next(i for i, name in enumerate(header) if name[:1].isdigit())
        columns = header[first:]
        days = [month_day_year(c) for c in columns]
        tally = Tally(keep_values)
        roll_ups: dict[str, list[list[str]]] = {}
        own: list[tuple[str, list[str]]] = []
        all_rows = list(rows)
        tally.expected.records = len(all_rows)
        with_own_row = {r[1] for r in all_rows if not r[0]}
        for fields in all_rows:
            values = fields[first:]
            if self.us:
                place, part_of = self._us(fields)
            else:
                place, part_of = self._global(fields, with_own_row)
            if place is None and part_of is None:
                name = fields[6] if self.us else ", ".join(c for c in fields[:2] if c)
                tally.expected.unmapped[name] += 1
                continue
            if place is not None:
                own.append((place, values))
            if part_of is not None:
                roll_ups.setdefault(part_of, []).append(values)
        for place, values in own:
            for day, cell in zip(days, values, strict=True):
                tally.cell((self.series, place, day), cell, CUMULATIVE)
        for parent, parts in roll_ups.items():
            for index, day in enumerate(days):
                cells = [values[index] for values in parts]
                if "" in cells:
                    continue  # a sum with a blank part is left out, not skipped
                total = str(sum(int(c) for c in cells))
                tally.cell((self.series, f"total of {parent}", day), total, CUMULATIVE)
        return tally.expected

    @staticmethod
    def _global(fields: list[str], with_own_row: set[str]) -> tuple[str | None, str | None]:
        """(the row's own place, the country it is summed into), None for none."""
        province, country = fields[0], fields[1]
        label = f"{province}, {country}" if province else country
        if label in JHU_GLOBAL_UNMAPPED:
            return None, None
        if not province or country in with_own_row or label in JHU_GLOBAL_OWN_COUNTRY:
            return label, None
        return (None if label in JHU_GLOBAL_TOTAL_ONLY else label), country

    @staticmethod
    def _us(fields: list[str]) -> tuple[str | None, str | None]:
        fips, admin2, state = fields[4], fields[5], fields[6]
        if state in JHU_US_UNMAPPED:
            return None, None
        if not admin2 and fips and float(fips) < 100:
            return state, None  # a territory given whole (2-digit FIPS, no counties)
        # Counties have a FIPS; "Unassigned" (900xx; 72999 for Puerto Rico), "Out of XX" (800xx,
        # 72888) and JHU's units without a FIPS (Kansas City, Utah's districts, ...) do not count
        # as counties, only in their state's total.
        county = (
            bool(admin2 and fips) and admin2 != "Unassigned" and not admin2.startswith("Out of ")
        )
        return (fips if county else None), state


@dataclass(frozen=True)
class Case:
    id: str
    path: str  # under shared/data
    format: str
    table: Long | Wide
    revises: str | None = None  # the id of the earlier document of the same series
    big: bool = False  # JHU US: PostgreSQL only when it is there

    @property
    def publisher(self) -> str:
        return owner_of(self.format)


# In the order they are ingested; a revised series after the document it revises.
CASES = [
    Case("jhu-global-confirmed", "real/jhu_csse/time_series_covid19_confirmed_global.csv", "jhu-csse-global-confirmed", Wide("jhu-cases", us=False)),
    Case("jhu-global-deaths", "real/jhu_csse/time_series_covid19_deaths_global.csv", "jhu-csse-global-deaths", Wide("jhu-deaths", us=False)),
    Case("jhu-us-confirmed", "real/jhu_csse/time_series_covid19_confirmed_US.csv", "jhu-csse-us-confirmed", Wide("jhu-us-cases", us=True), big=True),
    Case("jhu-us-deaths", "real/jhu_csse/time_series_covid19_deaths_US.csv", "jhu-csse-us-deaths", Wide("jhu-us-deaths", us=True), big=True),
    Case("who-2020-11-09", "real/who/vintage-2020-11-09/WHO-COVID-19-global-data.csv", "who-covid-19-global-data", WHO),
    Case("who-2020-12-13", "real/who/WHO-COVID-19-global-data.csv", "who-covid-19-global-data", WHO, revises="who-2020-11-09"),
    Case("ecdc", "real/ecdc/ecdc.csv", "ecdc-case-distribution", ECDC),
    Case("owid", "real/owid/owid-covid-data.csv", "owid-covid-data", OWID),
    Case("nyt", "real/nyt/us-states.csv", "nyt-us-states", NYT),
    Case("ctp-repository", "real/ctp/states_daily_4pm_et.csv", "ctp-states-daily", CTP_REPOSITORY),
    Case("ctp-website", "eval/ctp_website/all-states-history.csv", "ctp-all-states-history", CTP_WEBSITE, revises="ctp-repository"),
    Case("dpc", "real/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv", "dpc-ita-andamento-nazionale", DPC),
    Case("rki-deaths", "real/rki/COVID-19-Todesfaelle_Deutschland.csv", "rki-todesfaelle-deutschland", RKI_DEATHS),
    Case("rki-incidence", "real/rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv", "rki-faelle-7-tage-inzidenz", RKI_INCIDENCE),
    Case("cdc", "eval/cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv", "cdc-cases-deaths-by-state", CDC),
]  # fmt: skip
BY_ID = {case.id: case for case in CASES}
REVISED = {case.revises for case in CASES if case.revises}
# Not publisher data files: corrections and notes, JHU's lookup table, the sentiment set, OWID's
# codebook and the provenance notes.
NOT_INGESTED = {
    "real/PROVENANCE.md",
    "real/jhu_csse/UID_ISO_FIPS_LookUp_Table.csv",
    "real/owid/owid-covid-data-codebook.md",
    "eval/PROVENANCE.md",
}
NOT_INGESTED_DIRS = ("real/errata/", "eval/sentiment/")


def owner_of(format: str) -> str:
    owners = [slug for slug, spec in catalogue().items() if format in spec.formats]
    assert len(owners) == 1, f"format {format} belongs to {owners}, expected one publisher"
    return owners[0]


def cases_for(backend: str) -> list[Case]:
    if "postgresql" not in BACKENDS:
        return list(CASES)
    return [case for case in CASES if case.big == (backend == "postgresql")]


def shared() -> Path:
    path = shared_data_dir()
    if path is None or not (path / "real").is_dir() or not (path / "eval").is_dir():
        pytest.skip("../shared/data (real/ and eval/) is not present beside the repository")
    return path


@functools.cache
def expected(case_id: str) -> Expected:
    case = BY_ID[case_id]
    return case.table.expect((shared() / case.path).read_bytes(), case_id in REVISED)


@functools.cache
def _versions(case_id: str) -> tuple[int, int, int]:
    return expected_versions(BY_ID[case_id])


def expected_versions(case: Case) -> tuple[int, int, int]:
    """(new, revised, unchanged) from a cell-by-cell diff with the document it revises."""
    mine = expected(case.id)
    if case.revises is None:
        return mine.observations, 0, 0
    # a second read keeping the values; a document nothing revises keeps none in the cache
    values = case.table.expect((shared() / case.path).read_bytes(), True).values
    earlier = expected(case.revises).values
    assert values is not None and earlier is not None
    new = revised = unchanged = 0
    for key, value in values.items():
        if key not in earlier:
            new += 1
        elif earlier[key] == value:
            unchanged += 1
        else:
            revised += 1
    return new, revised, unchanged


# --- ingesting everything, once per backend -------------------------------------------------


@dataclass
class Ingested:
    backend: str
    url: str
    data_dir: Path
    reports: dict[str, IngestReport]
    stored: dict[int, int]  # document id -> observation rows stored
    log_size: int
    key_leaves: int


async def _ingest_all(backend: str, url: str, data_dir: Path) -> Ingested:
    cases = cases_for(backend)
    runtime = await open_runtime(
        load_settings(database_url=url, data_dir=data_dir, log_origin=TEST_ORIGIN)
    )
    try:
        signers = {}
        known = catalogue()
        for slug in dict.fromkeys(case.publisher for case in cases):
            signers[slug] = generate_signer(f"{slug}.test")
            async with runtime.write_sessions() as session, session.begin():
                await runtime.log.lock(session)
                await add_publisher(session, known[slug])
                await add_key(session, runtime.log, slug, signers[slug].vkey)
        reports = {}
        for case in cases:
            content = (shared() / case.path).read_bytes()
            note = sign_document(
                content,
                publisher=case.publisher,
                format=case.format,
                name=Path(case.path).name,
                signer=signers[case.publisher],
            )
            reports[case.id] = await ingest_document(
                runtime.write_sessions,
                runtime.log,
                data_dir,
                publisher=case.publisher,
                format=case.format,
                content=content,
                note=note,
            )
        table = Observation.__table__  # type: ignore[attr-defined]
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(table.c.document_id, func.count()).group_by(table.c.document_id)
            )
            stored = {int(doc): int(n) for doc, n in rows}
            log_size = await runtime.log.size(session)
    finally:
        await runtime.close()
    return Ingested(backend, url, data_dir, reports, stored, log_size, len(signers))


class Databases:
    """One database per backend for the whole module, filled on first use."""

    def __init__(self, directory: Path, templates: dict[str, str]) -> None:
        self._directory, self._templates = directory, templates
        self._done: dict[str, Ingested] = {}
        self._postgres: list[str] = []

    def get(self, backend: str) -> Ingested:
        if backend not in self._done:
            self._done[backend] = self._fill(backend)
        return self._done[backend]

    def _fill(self, backend: str) -> Ingested:
        directory = self._directory / backend
        directory.mkdir()
        if backend == "sqlite":
            target = directory / "corroborate.db"
            shutil.copyfile(self._templates["sqlite"], target)
            url = f"sqlite+aiosqlite:///{target}"
        else:
            name = pg_create(template=self._templates["postgresql"])
            self._postgres.append(name)
            url = pg_url(name)
        return asyncio.run(_ingest_all(backend, url, directory / "data"))

    def close(self) -> None:
        for name in self._postgres:
            pg_drop(name)


@pytest.fixture(scope="module")
def databases(
    tmp_path_factory: pytest.TempPathFactory, migrated_templates: dict[str, str]
) -> Iterator[Databases]:
    shared()
    found = Databases(tmp_path_factory.mktemp("real-files"), migrated_templates)
    try:
        yield found
    finally:
        found.close()


def by_backend() -> list[Any]:
    return [pytest.param(b, case, id=f"{b}-{case.id}") for b in BACKENDS for case in cases_for(b)]


# --- the checks -----------------------------------------------------------------------------


def test_every_publisher_file_is_a_case() -> None:
    root = shared()
    present = {
        str(path.relative_to(root))
        for folder in ("real", "eval")
        for path in (root / folder).rglob("*")
        if path.is_file()
    }
    publisher_files = {
        p for p in present - NOT_INGESTED if not any(p.startswith(d) for d in NOT_INGESTED_DIRS)
    }
    assert publisher_files == {case.path for case in CASES}


@pytest.mark.parametrize(("backend", "case"), by_backend())
def test_report_matches_the_raw_file(databases: Databases, backend: str, case: Case) -> None:
    ingested = databases.get(backend)
    report = ingested.reports[case.id]
    want = expected(case.id)
    new, revised, unchanged = _versions(case.id)
    got = {
        "status": report.status,
        "publisher": report.publisher,
        "rows read": report.records,
        "observations": report.observations,
        "empty cells skipped": report.skipped_empty,
        "unmapped": {u["name"]: u["rows"] for u in report.unmapped},
        "refused": report.refused,
        "new": report.new,
        "revised": report.revised,
        "unchanged": report.unchanged,
        "leaves": report.leaves,
        "stored rows": ingested.stored.get(report.document_id or -1, 0),
    }
    assert got == {
        "status": "ingested",
        "publisher": case.publisher,
        "rows read": want.records,
        "observations": want.observations,
        "empty cells skipped": want.skipped_empty,
        "unmapped": dict(want.unmapped),
        "refused": want.refused,
        "new": new,
        "revised": revised,
        "unchanged": unchanged,
        "leaves": 1 + new + revised,
        "stored rows": new + revised,
    }
    assert len(report.refusals) == min(want.refused, 100)


def test_figures_the_provenance_notes_state() -> None:
    """The raw-file figures above agree with what PROVENANCE.md says of the files."""
    rows = {case.id: expected(case.id).records for case in CASES}
    assert rows == {
        "jhu-global-confirmed": 276,
        "jhu-global-deaths": 276,
        "jhu-us-confirmed": 3340,
        "jhu-us-deaths": 3342,
        "who-2020-11-09": 73320,
        "who-2020-12-13": 75558,
        "ecdc": 42673,
        "owid": 20338,
        "nyt": 22454,
        "ctp-repository": 9201,
        "ctp-website": 15857,
        "dpc": 1781,
        "rki-deaths": 2358,
        "rki-incidence": 16968,
        "cdc": 42300,
    }
    # "in the 73,320 (date, country) rows the two vintages share, 939 rows have changed values"
    old, new = (_by_record(BY_ID[i]) for i in ("who-2020-11-09", "who-2020-12-13"))
    shared_rows = old.keys() & new.keys()
    assert len(shared_rows) == 73320
    assert sum(old[k] != new[k] for k in shared_rows) == 939
    # "Of the 9,201 (date, state) rows the two share, 7,748 have the same positive and death"
    old, new = (_by_record(BY_ID[i], ("positive", "death")) for i in ("ctp-repository", "ctp-website"))  # fmt: skip
    shared_rows = old.keys() & new.keys()
    assert len(shared_rows) == 9201
    assert sum(old[k] == new[k] for k in shared_rows) == 7748


def _by_record(case: Case, columns: tuple[str, ...] | None = None) -> dict[Key, tuple[str, ...]]:
    """(place, ISO date) -> the record's metric cells (or the named columns)."""
    table = case.table
    assert isinstance(table, Long)
    header, rows = records((shared() / case.path).read_bytes())
    wanted = columns or tuple(c for c, _ in table.metrics)
    found: dict[Key, tuple[str, ...]] = {}
    for fields in rows:
        record = dict(zip(header, fields, strict=True))
        place = "|".join(record[c] for c in table.place)
        found[(place, table.day(record[table.date]))] = tuple(record[c] for c in wanted)
    return found


def test_who_revisions_in_cells() -> None:
    """939 WHO records differ between the vintages; in cells that is 2,289 revised values, and the
    2,228 mapped records the later vintage adds give 8,912 new ones (4 metrics each)."""
    assert _versions("who-2020-12-13") == (8912, 2289, 300944 - 8912 - 2289)


def test_the_log_holds_every_leaf_reported(databases: Databases, backend: str) -> None:
    ingested = databases.get(backend)
    leaves = sum(report.leaves for report in ingested.reports.values())
    assert ingested.log_size == ingested.key_leaves + leaves
    documents = [r.document_id for r in ingested.reports.values()]
    assert len(set(documents)) == len(documents) == len(cases_for(ingested.backend))


def test_documents_verify_against_their_originals(databases: Databases, backend: str) -> None:
    ingested = databases.get(backend)
    wanted = ["who-2020-12-13", "ctp-website", "dpc"]
    chosen = [case for case in wanted if case in ingested.reports]
    if not chosen:  # re-deriving a JHU US county file costs minutes; tests/test_cli_ingest.py
        pytest.skip("verified where the smaller files are (documents verify runs on both)")
    ids = [ingested.reports[c].document_id or 0 for c in chosen]

    async def run() -> list[Any]:
        runtime = await open_runtime(
            load_settings(
                database_url=ingested.url, data_dir=ingested.data_dir, log_origin=TEST_ORIGIN
            )
        )
        try:
            async with runtime.sessions() as session:
                return await verify_documents(session, runtime.log, ingested.data_dir, ids)
        finally:
            await runtime.close()

    checks = asyncio.run(run())
    assert [(c.document_id, c.ok, c.problems) for c in checks] == [(i, True, []) for i in ids]
    stored = [ingested.stored[i] for i in ids]
    assert [c.observations for c in checks] == stored
