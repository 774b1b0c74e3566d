"""The demo data a newcomer gets from ``make run``: real extracts in ``samples/demo/``, signed
with demo keys and ingested, so that the API starts with real, disagreeing sources.

The keys are **demo keys**: generated on first use under ``<data dir>/demo-keys/`` (mode 0600),
named ``demo-<slug>`` in every signature and key leaf, and worth nothing as a publisher's word —
the real publishers never signed these files. Loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ingest.documents import IngestReport, ingest_document, sign_document
from ingest.publishers import add_key, add_publisher, catalogue, get_publisher, publisher_keys
from ledger.keys import load_or_create_key
from ledger.store import TransparencyLog

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "samples" / "demo"


class DemoError(RuntimeError):
    """The demo set is missing or inconsistent."""


@dataclass(frozen=True)
class DemoDocument:
    publisher: str
    format: str
    path: Path
    name: str


def manifest(demo_dir: Path = DEMO_DIR) -> list[DemoDocument]:
    path = demo_dir / "manifest.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DemoError(f"cannot read the demo manifest {path}: {exc}") from None
    try:
        return [
            DemoDocument(
                publisher=entry["publisher"],
                format=entry["format"],
                path=demo_dir / entry["path"],
                name=entry["name"],
            )
            for entry in data["document"]
        ]
    except (KeyError, TypeError) as exc:
        raise DemoError(
            f"{path}: every [[document]] needs publisher, format, path and name; missing {exc}"
        ) from None


def demo_key_name(slug: str) -> str:
    return f"demo-{slug}"


async def load_demo(
    sessions: async_sessionmaker[AsyncSession],
    log: TransparencyLog,
    data_dir: Path,
    *,
    demo_dir: Path = DEMO_DIR,
    on_report: Callable[[DemoDocument, IngestReport], None] | None = None,
) -> list[IngestReport]:
    """Register the demo set's publishers and demo keys, sign and ingest every document."""
    documents = manifest(demo_dir)
    known = catalogue()
    signers = {}
    for slug in dict.fromkeys(doc.publisher for doc in documents):
        if slug not in known:
            raise DemoError(f"demo manifest names publisher {slug!r}, not in the catalogue")
        signer = load_or_create_key(
            data_dir / "demo-keys" / f"{slug}.key",
            demo_key_name(slug),
            kind="ed25519",
            what=f"demo {slug}",
        )
        signers[slug] = signer
        async with sessions() as session, session.begin():
            await log.lock(session)
            await add_publisher(session, known[slug])
            publisher = await get_publisher(session, slug)
            registered = {k.vkey for k in await publisher_keys(session, publisher.id or 0)}
            if signer.vkey not in registered:
                await add_key(session, log, slug, signer.vkey)
    reports = []
    for doc in documents:
        try:
            content = doc.path.read_bytes()
        except OSError as exc:
            raise DemoError(f"cannot read demo document {doc.path}: {exc}") from None
        note = sign_document(
            content,
            publisher=doc.publisher,
            format=doc.format,
            name=doc.name,
            signer=signers[doc.publisher],
            signed_at=dt.datetime.now(dt.UTC),
        )
        report = await ingest_document(
            sessions,
            log,
            data_dir,
            publisher=doc.publisher,
            format=doc.format,
            content=content,
            note=note,
        )
        if on_report:
            on_report(doc, report)
        reports.append(report)
    return reports
