"""Fixtures: every database test runs on SQLite and, when CORROBORATE_TEST_POSTGRES_URL is set,
on PostgreSQL too. A PostgreSQL test that cannot reach the server fails; it never skips.

Each test gets its own database, copied from one migrated once per session (a file copy for
SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from api.app import create_app
from service import migrations
from service.runtime import Runtime, open_runtime
from service.settings import Settings, load_settings

POSTGRES_URL = os.environ.get("CORROBORATE_TEST_POSTGRES_URL")
# The API's 10 s execution limit is for production; on a busy two-core CI machine a small query
# has been stopped by it. Tests of the limit set their own (tests/api/test_http.py).
os.environ.setdefault("CORROBORATE_API_TIMEOUT_S", "120")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
TEST_ORIGIN = "test.corroborate.example/log"


def _admin_dsn() -> str:
    assert POSTGRES_URL
    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_url(database: str) -> str:
    assert POSTGRES_URL
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


async def _pg_exec(*statements: str) -> None:
    connection = await asyncpg.connect(_admin_dsn())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def pg_create(template: str | None = None) -> str:
    name = f"corroborate_t_{uuid.uuid4().hex[:12]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"{suffix}'))
    return name


def pg_drop(name: str) -> None:
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One migrated database per backend, to copy from."""
    templates: dict[str, str] = {}
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    templates["sqlite"] = str(path)
    if POSTGRES_URL:
        name = pg_create()
        migrations.upgrade(pg_url(name))
        templates["postgresql"] = name
    yield templates
    if POSTGRES_URL:
        pg_drop(templates["postgresql"])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.db"
        return
    name = pg_create()
    yield pg_url(name)
    pg_drop(name)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, migrated_templates: dict[str, str]) -> Iterator[str]:
    """A database at the migrations' head."""
    if backend == "sqlite":
        target = tmp_path / "corroborate.db"
        shutil.copyfile(migrated_templates["sqlite"], target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    name = pg_create(template=migrated_templates["postgresql"])
    yield pg_url(name)
    pg_drop(name)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(database_url=db_url, data_dir=tmp_path / "data", log_origin=TEST_ORIGIN)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    opened = await open_runtime(settings)
    opened.sequencer.start()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def shared_data_dir() -> Path | None:
    """../shared/data beside the repository; fails (never skips) when required and missing."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if path.is_dir():
        return path
    if os.environ.get("CORROBORATE_REQUIRE_SHARED_DATA") == "1":
        pytest.fail(f"CORROBORATE_REQUIRE_SHARED_DATA=1 but {path} is missing")
    return None
