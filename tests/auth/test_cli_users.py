"""``corroborate users|clients|auth`` as an operator meets them: real processes against a
migrated database on every backend, one-line refusals (exit 2), ``--json`` as one object."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CORROBORATE, ROOT, cli_env

Result = subprocess.CompletedProcess[str]
PASSWORD = "plover-quantum-harbour-91"


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> Result:
    return subprocess.run(
        [CORROBORATE, *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _json(result: Result) -> Any:
    assert result.returncode == 0, (result.stdout, result.stderr)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def _refused(result: Result, *expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    stderr = result.stderr.strip()
    assert "Traceback" not in stderr and len(stderr.splitlines()) == 1, stderr
    for part in expected:
        assert part in stderr, stderr


@pytest.mark.slow
def test_operator_manages_accounts_clients_and_keys(db_url: str, tmp_path: Path) -> None:
    env = cli_env(
        database_url=db_url,
        data_dir=str(tmp_path / "data"),
        auth_argon2_memory_kib="64",
        auth_argon2_time_cost="1",
    )
    _refused(
        _cli(
            env,
            "users",
            "create-admin",
            "root@example.org",
            "--pseudonym",
            "root",
            "--password-stdin",
            stdin="password2024\n",
        ),
        "password: expected a password that is not one of the most common",
    )
    created = _json(
        _cli(
            env,
            "users",
            "create-admin",
            "Root@Example.org",
            "--pseudonym",
            "root",
            "--password-stdin",
            "--json",
            stdin=PASSWORD + "\n",
        )
    )
    assert created["email"] == "root@example.org" and created["state"] == "active"
    assert sorted(r["role"] for r in created["roles"]) == ["admin", "member"]
    assert all(r["granted_by"].startswith("cli") for r in created["roles"])

    _refused(_cli(env, "users", "grant", "root@example.org", "publisher"), "needs --publisher")
    _refused(_cli(env, "users", "grant", "nobody@example.org", "moderator"), "no account has")
    assert _cli(env, "publishers", "add", "--from-catalogue", "who").returncode == 0
    granted = _json(
        _cli(env, "users", "grant", "root@example.org", "publisher", "--publisher", "who", "--json")
    )
    assert {"role": "publisher", "publisher": "who"}.items() <= granted["roles"][2].items()

    _refused(
        _cli(env, "clients", "add", "Uploader", "--grant", "client_credentials"),
        "give --publisher SLUG",
    )
    _refused(
        _cli(env, "clients", "add", "App", "--grant", "authorization_code", "--public"),
        "authorization_code needs at least one --redirect-uri",
    )
    machine = _json(
        _cli(
            env,
            "clients",
            "add",
            "Uploader",
            "--grant",
            "client_credentials",
            "--publisher",
            "who",
            "--json",
        )
    )
    assert machine["client_secret"] and machine["scopes"] == ["publish"]
    listed = _json(_cli(env, "clients", "list", "--json"))["clients"]
    assert [c["client_id"] for c in listed] == [machine["client_id"]]
    assert machine["client_secret"] not in json.dumps(listed)

    first = _json(_cli(env, "auth", "rotate-key", "--json"))
    second = _json(_cli(env, "auth", "rotate-key", "--json"))
    assert second["retired"] == [first["kid"]]
    keys = _json(_cli(env, "auth", "keys", "--json"))["keys"]
    assert [(k["kid"], k["signing"], k["published"]) for k in keys] == [
        (second["kid"], True, True),
        (first["kid"], False, True),
    ]

    purged = _json(_cli(env, "auth", "purge", "--json"))
    assert set(purged) == {
        "authorization_codes",
        "refresh_tokens",
        "token_families",
        "revoked_access_tokens",
        "login_attempts",
    }

    suspended = _json(_cli(env, "users", "suspend", "root@example.org", "--json"))
    assert suspended["state"] == "suspended"
    listed_users = _cli(env, "users", "list")
    assert (
        listed_users.returncode == 0 and "root@example.org\troot\tsuspended" in listed_users.stdout
    )
