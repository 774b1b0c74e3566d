"""A real ``corroborate serve`` on the demo data for the browser tests, and Debian's Chromium.

The server runs from this working tree (``migrate``, ``demo load``, ``serve`` on a fresh SQLite
database in a temporary directory and a free port), so what it serves is the tree under test.
Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it when missing), driven
by Playwright for Python: ``playwright install`` is never run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import cli_env, free_port, run_cli, serving

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a server on the demo data."""
    root = tmp_path_factory.mktemp("web")
    port = free_port()
    env = cli_env(
        port=str(port),
        database_url=f"sqlite+aiosqlite:///{root / 'corroborate.db'}",
        data_dir=str(root / "var"),
        auth_issuer=f"http://127.0.0.1:{port}",
        api_timeout_s="120",
    )
    for args in (["migrate"], ["demo", "load"]):
        done = run_cli(*args, env=env, cwd=root)
        assert done.returncode == 0, f"corroborate {' '.join(args)}: {done.stdout}{done.stderr}"
    with serving(["serve"], env, port, cwd=root) as base:
        yield base


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright (headless)."""
    if not CHROMIUM.is_file() and shutil.which("chromium") is None:
        pytest.fail(f"expected Debian's chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
