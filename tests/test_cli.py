"""The command line as an operator meets it: real processes, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import httpx

from service import migrations
from tests.helpers import cli_env, free_port, run_cli, serving


def _one_line_error(result: object, *expected: str) -> None:
    assert result.returncode != 0  # type: ignore[attr-defined]
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1, stderr
    for part in expected:
        assert part in stderr, stderr


def test_help_lists_every_command() -> None:
    result = run_cli("--help", env=cli_env())
    assert result.returncode == 0
    for command in ("serve", "migrate", "ledger", "verify", "witness"):
        assert command in result.stdout
    ledger = run_cli("ledger", "--help", env=cli_env())
    for command in ("vkey", "checkpoint", "audit", "export", "proof", "leaf", "cosign"):
        assert command in ledger.stdout


def test_bad_setting_stops_serve_with_one_line(tmp_path: Path) -> None:
    result = run_cli("serve", env=cli_env(port="not-a-port", data_dir=str(tmp_path)))
    _one_line_error(result, "CORROBORATE_PORT")


def test_unreachable_database_stops_serve_with_one_line(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody:secret@127.0.0.1:1/none"
    result = run_cli("serve", env=cli_env(database_url=url, data_dir=str(tmp_path)))
    _one_line_error(result, "cannot reach the database", "127.0.0.1:1")
    assert "secret" not in result.stderr


def test_database_at_older_migration_stops_serve(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    migrations.upgrade(url, "0001")
    migrations.downgrade(url, "base")
    result = run_cli("serve", env=cli_env(database_url=url, data_dir=str(tmp_path)))
    _one_line_error(result, "is at migration none", "corroborate migrate")


def test_migrate_then_serve_answers_ready_and_graphiql(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(database_url=db_url, data_dir=str(tmp_path / "data"), port=str(port))
    assert run_cli("migrate", env=env).returncode == 0
    with serving(["serve"], env, port) as base:
        assert httpx.get(base + "/readyz").status_code == 200
        page = httpx.get(base + "/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        answer = httpx.post(base + "/graphql", json={"query": "{ ledger { size origin } }"})
        assert answer.json()["data"]["ledger"] == {"size": 0, "origin": "localhost/corroborate"}
    key = tmp_path / "data" / "ledger.key"
    assert key.stat().st_mode & 0o777 == 0o600
    vkey = run_cli("ledger", "vkey", env=env)
    assert vkey.returncode == 0 and vkey.stdout.startswith("localhost/corroborate+")


def test_key_for_another_origin_is_refused(db_url: str, tmp_path: Path) -> None:
    env = cli_env(database_url=db_url, data_dir=str(tmp_path))
    assert run_cli("ledger", "vkey", env=env).returncode == 0
    other = cli_env(database_url=db_url, data_dir=str(tmp_path), log_origin="other.example/log")
    _one_line_error(run_cli("ledger", "vkey", env=other), "other.example/log")
