"""The command line run outside the service's directory (issue 15, item 5): it finds the service's
database or names the absolute path it looked at and how to point at the right one, and it
creates nothing it was not asked to (no ``./var``, no empty database, no stray log key)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import CORROBORATE, cli_env

COMMANDS = [
    ("figures", "show", "ITA", "cases_cumulative", "2020-06-01"),
    ("publishers", "list"),
    ("ledger", "vkey"),
    ("ledger", "checkpoint"),
    ("documents", "list"),
    ("users", "list"),
    ("serve",),
]


def run_in(directory: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORROBORATE, *args],
        env=env,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_database_here_names_the_absolute_path_and_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_in(elsewhere, *command, env=cli_env())
    message = one_line(
        result,
        f"no database at {elsewhere}/var/corroborate.db",
        "--database-url",
        "CORROBORATE_DATABASE_URL",
        "--data-dir",
        "CORROBORATE_DATA_DIR",
        f"relative to the current directory, {elsewhere}",
    )
    assert "run `corroborate migrate`" not in message  # that would make a second database
    assert list(elsewhere.iterdir()) == []  # no ./var, no empty database


def test_database_found_but_data_dir_elsewhere_names_the_key_path(
    db_url: str, tmp_path: Path
) -> None:
    """The database is given (absolute), the data dir is the default ./var of another folder:
    the log's key is not made anew there, and the message names where it looked."""
    service = tmp_path / "service"
    service.mkdir()
    env = cli_env(database_url=db_url, data_dir=str(service / "data"))
    first = run_in(service, "ledger", "vkey", env=env)  # the log's first start makes its key
    assert first.returncode == 0, first.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    only_database = cli_env(database_url=db_url)
    result = run_in(elsewhere, "publishers", "list", env=only_database)
    one_line(
        result,
        "holds a log, but its key is not at",
        f"{elsewhere}/var/ledger.key",
        "--data-dir",
        "CORROBORATE_DATA_DIR",
    )
    assert list(elsewhere.iterdir()) == []
    # pointed at the right data dir, the same command works from anywhere
    pointed = run_in(
        elsewhere, "publishers", "list", "--data-dir", str(service / "data"), env=only_database
    )
    assert pointed.returncode == 0, pointed.stderr
    assert list(elsewhere.iterdir()) == []


def test_migrate_is_the_command_that_makes_a_database_here(tmp_path: Path) -> None:
    here = tmp_path / "new"
    here.mkdir()
    made = run_in(here, "migrate", env=cli_env())
    assert made.returncode == 0, made.stderr
    assert f"(the file {here}/var/corroborate.db)" in made.stdout
    assert (here / "var" / "corroborate.db").is_file()
