"""Every command that reads a file or folder named on its command line, with that file missing,
unreadable and malformed: one line on stderr, exit 2 ("could not run"), nothing written.

The arguments are found in the parser itself (``cli.main.build_parser``): every argument whose
argparse ``type`` is one of ``cli.common.FILE_TYPES``. A new command's file argument is therefore
tested as soon as it uses one of those types (the test fails until it is given a baseline below),
and ``test_every_path_argument_is_typed`` fails for a path argument that uses none of them.

"Unreadable" as root (the tests run as root, for whom ``chmod 000`` changes nothing): a folder
where a file is expected, a FIFO (opening one for reading would block: it is refused from its
``stat``, before any ``open``), and a regular file where a folder is expected; ``chmod 000`` is
added when the tests do not run as root.

Two documented exceptions: ``keys add|rotate --generate KEYFILE`` *creates* a missing key file
(that is what it is for), so it has no "missing" case; and any bytes are a leaf, so a "malformed"
``verify --leaf`` is a leaf the proof does not prove: exit 1, "checked and not right".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cli.common import FILE_TYPES, input_dir, key_file
from cli.main import build_parser
from tests.helpers import ROOT, cli_env, run_cli

WHO_SAMPLE = str(ROOT / "samples/who/WHO-COVID-19-global-data.csv")
WHO_FORMAT = "who-covid-19-global-data"
Result = subprocess.CompletedProcess[str]
#: path arguments that are not files the command reads: what it writes, or its own state
NOT_INPUTS = {
    (("ledger", "export"), "directory"),  # the folder it writes the tiles to
    (("witness", "serve"), "dir"),  # the witness's own state folder, made on first use
    (("witness", "vkey"), "dir"),
}
#: arguments whose name looks like a path's but is none
NOT_PATHS = {
    "data_dir",  # every service command's --data-dir: checked by the runtime (test_cli_elsewhere)
    "key_name",  # a signed-note key name
    "key",  # keys revoke --key: a key ID or vkey
    "redirect_uri",  # a URI
}
PATHLIKE = ("FILE", "DIR", "VKEY", "KEY", "PROOF", "LEAF")


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(command path, its parser) for every leaf command."""

    def walk(
        prefix: tuple[str, ...], current: argparse.ArgumentParser
    ) -> Iterator[tuple[tuple[str, ...], Any]]:
        children = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if not children:
            yield prefix, current
        for action in children:
            for name, sub in action.choices.items():
                yield from walk((*prefix, name), sub)

    yield from walk((), parser)


def file_arguments() -> dict[tuple[tuple[str, ...], str], Callable[[str], Any]]:
    """(command path, dest) -> the argparse type, for every file argument of every command."""
    found = {}
    for path, sub in _subparsers(build_parser()):
        for action in sub._actions:
            if action.type in FILE_TYPES:
                found[(path, action.dest)] = action.type
    return found


def test_every_path_argument_is_typed() -> None:
    """A path argument (by its metavar or name) is a file type of cli.common, or listed as not
    an input, so that the missing/unreadable/malformed test below covers it."""
    untyped = []
    for path, sub in _subparsers(build_parser()):
        for action in sub._actions:
            label = f"{action.metavar or ''} {action.dest}".upper()
            if action.type in FILE_TYPES or (path, action.dest) in NOT_INPUTS:
                continue
            if action.dest in NOT_PATHS:
                continue
            if any(word in label for word in PATHLIKE) and action.type not in (int, float):
                untyped.append((path, action.dest))
    assert untyped == []


# -- a service with one publisher, one key, one leaf ----------------------------------------------


def _query(db_url: str, statement: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(db_url)
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(text(statement))).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _ok(result: Result) -> Result:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def _state(db_url: str, *folders: Path) -> tuple[Any, ...]:
    """What a command could have written: row counts, the log's size and every file."""
    counts = tuple(
        _query(db_url, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in (
            "ledger_entry",
            "ledger_checkpoint",
            "publisher",
            "publisher_key",
            "document",
            "observation",
        )
    )
    files = tuple(
        sorted(str(p.relative_to(folder)) for folder in folders for p in folder.rglob("*"))
    )
    return counts, files


@pytest.fixture
def backend() -> str:
    """SQLite only: a file argument is checked before any database is opened, so the other
    backend adds a minute of subprocesses and no coverage (the database side of "nothing written"
    is the same code on both; tests/test_cli_ingest.py refuses on both backends)."""
    return "sqlite"


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> dict[str, Any]:
    env = cli_env(database_url=db_url, data_dir=str(tmp_path / "data"))
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    key = inputs / "who.key"
    _ok(run_cli("publishers", "add", "--from-catalogue", "who", env=env))
    _ok(run_cli("keys", "add", "--publisher", "who", "--generate", str(key), env=env))
    (inputs / "proof").write_text(_ok(run_cli("ledger", "proof", "0", env=env)).stdout)
    leaf_bytes = _query(db_url, "SELECT body FROM ledger_entry WHERE idx = 0")[0][0]
    (inputs / "leaf").write_bytes(bytes(leaf_bytes))
    vkey = _ok(run_cli("ledger", "vkey", env=env)).stdout.strip()
    (inputs / "log.vkey").write_text(vkey + "\n")
    # the baseline works: verify says verified
    _ok(
        run_cli(
            "verify",
            str(inputs / "proof"),
            "--leaf",
            str(inputs / "leaf"),
            "--vkey",
            str(inputs / "log.vkey"),
            env=env,
        )
    )
    return {"env": env, "inputs": inputs, "key": key, "vkey": vkey, "db_url": db_url}


def baselines(s: dict[str, Any]) -> dict[tuple[tuple[str, ...], str], Callable[[str], list[str]]]:
    """For each file argument: the whole command line with that argument set to ``value`` and
    every other argument valid."""
    inputs, key, vkey = s["inputs"], str(s["key"]), s["vkey"]
    proof, leaf = str(inputs / "proof"), str(inputs / "leaf")
    ingest = ["ingest", "--publisher", "who", "--format", WHO_FORMAT]
    witness = str(inputs / "witness")
    return {
        (("ingest",), "file"): lambda v: [*ingest, v, "--sign-with", key],
        (("ingest",), "signature"): lambda v: [*ingest, WHO_SAMPLE, "--signature", v],
        (("ingest",), "sign_with"): lambda v: [*ingest, WHO_SAMPLE, "--sign-with", v],
        (("keys", "add"), "vkey"): lambda v: ["keys", "add", "--publisher", "who", "--vkey", v],
        (("keys", "add"), "generate"): lambda v: [
            *("keys", "add", "--publisher", "who", "--generate", v)
        ],
        (("keys", "rotate"), "vkey"): lambda v: [
            *("keys", "rotate", "--publisher", "who", "--vkey", v)
        ],
        (("keys", "rotate"), "generate"): lambda v: [
            *("keys", "rotate", "--publisher", "who", "--generate", v)
        ],
        (("verify",), "proof"): lambda v: ["verify", v, "--leaf", leaf, "--vkey", vkey],
        (("verify",), "leaf"): lambda v: ["verify", proof, "--leaf", v, "--vkey", vkey],
        (("verify",), "vkey"): lambda v: ["verify", proof, "--leaf", leaf, "--vkey", v],
        (("verify",), "witness"): lambda v: [
            *("verify", proof, "--leaf", leaf, "--vkey", vkey, "--witness", v)
        ],
        (("ledger", "cosign"), "witness_vkey"): lambda v: [
            *("ledger", "cosign", "http://127.0.0.1:9", v)
        ],
        (("witness", "serve"), "log"): lambda v: [
            *("witness", "serve", "--dir", witness, "--name", "example.org/w", "--log", v)
        ],
        (("demo", "load"), "samples"): lambda v: ["demo", "load", "--samples", v],
    }


def _broken_paths(tmp_path: Path, kind: Callable[[str], Any]) -> dict[str, Path]:
    """name -> a path that is missing, unreadable or malformed for an argument of ``kind``."""
    broken = tmp_path / "broken"
    broken.mkdir(exist_ok=True)
    wants_dir = kind is input_dir
    cases: dict[str, Path] = {}
    if kind is not key_file:  # --generate makes a missing key file: that is its purpose
        cases["missing"] = broken / "no-such-folder" / "no-such-file"
    if wants_dir:
        cases["unreadable: a file"] = broken / "a-file"
        cases["unreadable: a file"].write_text("not a folder\n")
        cases["malformed: no manifest"] = broken / "empty-folder"
        cases["malformed: no manifest"].mkdir(exist_ok=True)
    else:
        cases["unreadable: a folder"] = broken / "a-folder"
        cases["unreadable: a folder"].mkdir(exist_ok=True)
        fifo = broken / "a-fifo"
        if not fifo.exists():
            os.mkfifo(fifo)
        cases["unreadable: a FIFO"] = fifo
        malformed = broken / "malformed"
        malformed.write_bytes(b"\x00\xff this is not what was expected\n")
        cases["malformed"] = malformed
    if os.geteuid() != 0:  # chmod 000 stops only others than root
        locked = broken / ("locked-dir" if wants_dir else "locked-file")
        if wants_dir:
            locked.mkdir(exist_ok=True)
        else:
            locked.write_text("x\n")
        locked.chmod(0)
        cases["unreadable: mode 000"] = locked
    return cases


def test_every_file_argument_missing_unreadable_or_malformed_is_one_line_exit_2(
    service: dict[str, Any], tmp_path: Path
) -> None:
    found = file_arguments()
    table = baselines(service)
    assert set(found) == set(table), "give every new file argument a baseline command line"
    env, db_url = service["env"], service["db_url"]
    watched = (tmp_path / "data", service["inputs"])
    before = _state(db_url, *watched)
    failures = []
    for (path, dest), kind in sorted(found.items()):
        for case, broken in _broken_paths(tmp_path, kind).items():
            argv = table[(path, dest)](str(broken))
            result = run_cli(*argv, env=env, timeout=120)
            expected = 1 if (path, dest, case) == (("verify",), "leaf", "malformed") else 2
            lines = result.stderr.strip().splitlines()
            problem = None
            if result.returncode != expected:
                problem = f"exit {result.returncode}, expected {expected}"
            elif len(lines) != 1 or not lines[0].startswith("corroborate: "):
                problem = f"expected one 'corroborate: ' line, got {result.stderr!r}"
            elif "Traceback" in result.stderr or result.stdout:
                problem = f"stdout {result.stdout!r}, stderr {result.stderr!r}"
            elif _state(db_url, *watched) != before:
                problem = "something was written"
            if problem:
                failures.append(f"{' '.join(path)} {dest} ({case}): {problem}")
    assert failures == []
