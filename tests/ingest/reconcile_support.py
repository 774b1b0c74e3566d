"""Helpers for the reconciliation tests: small real extracts of the demo set, signed and ingested.

The demo set (``samples/demo/``) holds five countries and six US states; most database tests here
need only a country or two, so ``extract`` keeps the records of the named places (byte for byte,
header first, as ``samples/demo/README.md`` cuts the originals) and ``load_documents`` registers
each publisher with a fresh key, signs and ingests the extracts.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ingest.documents import IngestReport, ingest_document, sign_document
from ingest.publishers import add_key, add_publisher, catalogue
from ledger.note import Signer, generate_signer
from service.runtime import Runtime
from tests.ingest.support import SAMPLES

DEMO = SAMPLES / "demo"

# Country codes as each demo file spells them.
JHU_NAME = {
    "ITA": "Italy",
    "DEU": "Germany",
    "FRA": "France",
    "ESP": "Spain",
    "GBR": "United Kingdom",
}
ALPHA2 = {"ITA": "IT", "DEU": "DE", "FRA": "FR", "ESP": "ES", "GBR": "GB"}
ECDC_GEO = {"ITA": "IT", "DEU": "DE", "FRA": "FR", "ESP": "ES", "GBR": "UK"}


@dataclass(frozen=True)
class Doc:
    publisher: str
    format: str
    name: str
    content: bytes


def extract(relative: str, keep: Callable[[dict[str, str]], bool] | None = None) -> bytes:
    """A demo file with only the records ``keep`` accepts (all of them without ``keep``)."""
    original = (DEMO / relative).read_bytes()
    if keep is None:
        return original
    lines = original.splitlines(keepends=True)  # no record spans lines in these files
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    kept = [lines[0]]
    for line in lines[1:]:
        record = dict(zip(header, next(csv.reader([line.decode("utf-8")])), strict=True))
        if keep(record):
            kept.append(line)
    return b"".join(kept)


def country_documents(countries: Iterable[str], *, dpc: bool = True) -> list[Doc]:
    """JHU (the country's mainland row), WHO (latest vintage) and ECDC for ``countries``, and
    Italy's ministry (DPC, all of Italy) when ``dpc``."""
    wanted = set(countries)
    jhu = {JHU_NAME[c] for c in wanted}
    who = {ALPHA2[c] for c in wanted}
    ecdc = {ECDC_GEO[c] for c in wanted}

    def jhu_row(r: dict[str, str]) -> bool:
        return r["Country/Region"] in jhu and r["Province/State"] == ""

    docs = [
        Doc(
            "jhu-csse",
            "jhu-csse-global-confirmed",
            "time_series_covid19_confirmed_global.csv",
            extract("jhu_csse/time_series_covid19_confirmed_global.csv", jhu_row),
        ),
        Doc(
            "jhu-csse",
            "jhu-csse-global-deaths",
            "time_series_covid19_deaths_global.csv",
            extract("jhu_csse/time_series_covid19_deaths_global.csv", jhu_row),
        ),
        Doc(
            "who",
            "who-covid-19-global-data",
            "WHO-COVID-19-global-data.csv",
            extract("who/WHO-COVID-19-global-data.csv", lambda r: r[" Country_code"] in who),
        ),
        Doc(
            "ecdc",
            "ecdc-case-distribution",
            "ecdc.csv",
            extract("ecdc/ecdc.csv", lambda r: r["geoId"] in ecdc),
        ),
    ]
    if dpc:
        docs.append(dpc_document())
    return docs


DPC_PATH = "italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"
DPC_NAME = "dpc-covid19-ita-andamento-nazionale.csv"


def dpc_document(content: bytes | None = None) -> Doc:
    return Doc(
        "it-dpc",
        "dpc-ita-andamento-nazionale",
        DPC_NAME,
        extract(DPC_PATH) if content is None else content,
    )


def revise_dpc_cell(day: dt.date, column: str, delta: int) -> tuple[bytes, int, int]:
    """DPC's national file with ``column`` of ``day`` moved by ``delta``: (content, old, new)."""
    lines = extract(DPC_PATH).splitlines(keepends=True)
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    for number, line in enumerate(lines[1:], 1):
        fields = next(csv.reader([line.decode("utf-8")]))
        if fields[0].startswith(day.isoformat()):
            position = header.index(column)
            old = int(fields[position])
            fields[position] = str(old + delta)
            assert b'"' not in line  # so a plain join writes the record back as it was
            ending = b"\r\n" if line.endswith(b"\r\n") else b"\n"
            lines[number] = ",".join(fields).encode() + ending
            return b"".join(lines), old, old + delta
    raise AssertionError(f"no DPC record dated {day}")


class Publishers:
    """Publishers registered on one runtime, each with a key of its own."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.signers: dict[str, Signer] = {}

    async def signer(self, slug: str) -> Signer:
        if slug not in self.signers:
            key = generate_signer(f"test-{slug}")
            async with self.runtime.write_sessions() as s, s.begin():
                await self.runtime.log.lock(s)
                await add_publisher(s, catalogue()[slug])
                await add_key(s, self.runtime.log, slug, key.vkey)
            self.signers[slug] = key
        return self.signers[slug]

    async def ingest(self, doc: Doc) -> IngestReport:
        signer = await self.signer(doc.publisher)
        note = sign_document(
            doc.content,
            publisher=doc.publisher,
            format=doc.format,
            name=doc.name,
            signer=signer,
            signed_at=dt.datetime.now(dt.UTC),
        )
        report = await ingest_document(
            self.runtime.write_sessions,
            self.runtime.log,
            self.runtime.settings.data_dir,
            publisher=doc.publisher,
            format=doc.format,
            content=doc.content,
            note=note,
        )
        assert report.refused == 0, report.refusals
        return report

    async def load(self, docs: Sequence[Doc]) -> list[IngestReport]:
        return [await self.ingest(doc) for doc in docs]
