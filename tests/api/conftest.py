"""A database holding the demo data, loaded and reconciled once per backend, copied per test."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from service import migrations
from service.runtime import Runtime, open_runtime
from service.settings import Settings, load_settings
from tests.conftest import POSTGRES_URL, TEST_ORIGIN, pg_create, pg_drop, pg_url


async def _load_demo(settings: Settings) -> None:
    from ingest.demo import load_demo
    from ingest.reconcile.engine import reconcile

    runtime = await open_runtime(settings)
    runtime.sequencer.start()
    try:
        await load_demo(runtime.write_sessions, runtime.log, settings.data_dir)
        await reconcile(runtime.sessions, runtime.write_sessions, runtime.log, tolerances={})
    finally:
        await runtime.close()


@pytest.fixture(scope="session")
def demo_templates(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[str, Path]]]:
    """Per backend: (template database, data dir with the log key and the originals)."""
    made: dict[str, tuple[str, Path]] = {}
    root = tmp_path_factory.mktemp("demo")
    sqlite_path = root / "demo.db"
    url = f"sqlite+aiosqlite:///{sqlite_path}"
    migrations.upgrade(url)
    data = root / "sqlite-data"
    asyncio.run(_load_demo(load_settings(database_url=url, data_dir=data, log_origin=TEST_ORIGIN)))
    made["sqlite"] = (str(sqlite_path), data)
    if POSTGRES_URL:
        name = pg_create()
        migrations.upgrade(pg_url(name))
        data = root / "pg-data"
        asyncio.run(
            _load_demo(
                load_settings(database_url=pg_url(name), data_dir=data, log_origin=TEST_ORIGIN)
            )
        )
        made["postgresql"] = (name, data)
    yield made
    if POSTGRES_URL:
        pg_drop(made["postgresql"][0])


@pytest.fixture
def demo_settings(
    backend: str, tmp_path: Path, demo_templates: dict[str, tuple[str, Path]]
) -> Iterator[Settings]:
    """Settings for a fresh copy of the demo database (the data dir is shared: treat as read-only)."""
    template, data = demo_templates[backend]
    if backend == "sqlite":
        target = tmp_path / "demo.db"
        shutil.copyfile(template, target)
        yield load_settings(
            database_url=f"sqlite+aiosqlite:///{target}", data_dir=data, log_origin=TEST_ORIGIN
        )
        return
    name = pg_create(template=template)
    yield load_settings(database_url=pg_url(name), data_dir=data, log_origin=TEST_ORIGIN)
    pg_drop(name)


@pytest.fixture
async def demo_runtime(demo_settings: Settings) -> AsyncIterator[Runtime]:
    opened = await open_runtime(demo_settings)
    opened.sequencer.start()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def demo_client(demo_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the ASGI app serving the demo data."""
    app = create_app(runtime=demo_runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
