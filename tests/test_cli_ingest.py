"""Publishers, keys, ingestion, documents and the demo data from the command line, as an operator
meets them: real ``corroborate`` processes against a migrated database on every backend, one-line
refusals (exit 2), ``--json`` as exactly one object, and refusals that leave no trace."""

from __future__ import annotations

import asyncio
import json
import select
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ingest.demo import manifest
from ingest.documents import original_path, sign_document
from ingest.publishers import catalogue
from ledger.keys import load_key
from ledger.note import generate_signer
from tests.auth.conftest import PASSWORD, Pkce, hidden_fields
from tests.helpers import CORROBORATE, ROOT, cli_env, free_port, run_cli

WHO_SAMPLE = "samples/who/WHO-COVID-19-global-data.csv"
WHO_VINTAGE = "samples/demo/who/vintage-2020-11-09/WHO-COVID-19-global-data.csv"
WHO_LATER = "samples/demo/who/WHO-COVID-19-global-data.csv"
WHO_FORMAT = "who-covid-19-global-data"
Result = subprocess.CompletedProcess[str]


# -- helpers ----------------------------------------------------------------------------------


def service_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(database_url=db_url, data_dir=str(tmp_path / "data"))


def cli_ok(result: Result) -> Result:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def cli_json(result: Result) -> Any:
    """The one JSON object on stdout of a successful ``--json`` command."""
    cli_ok(result)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    value = json.loads(lines[0])
    assert isinstance(value, dict)
    return value


def cli_refused(result: Result, *expected: str, code: int = 2) -> str:
    """Exit ``code`` with exactly one ``corroborate: ...`` line on stderr mentioning ``expected``."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    stderr = result.stderr.strip()
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("corroborate: "), stderr
    for part in expected:
        assert part in stderr, stderr
    return stderr


def ledger_size(env: dict[str, str]) -> int:
    checkpoint = cli_ok(run_cli("ledger", "checkpoint", env=env)).stdout.splitlines()
    return int(checkpoint[1])


def _documents(env: dict[str, str]) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = cli_json(run_cli("documents", "list", "--json", env=env))[
        "documents"
    ]
    return documents


def _originals(tmp_path: Path) -> list[Path]:
    return sorted(path for path in (tmp_path / "data" / "documents").rglob("*") if path.is_file())


def _register_who(env: dict[str, str], key: Path) -> None:
    cli_ok(run_cli("publishers", "add", "--from-catalogue", "who", env=env))
    cli_ok(run_cli("keys", "add", "--publisher", "who", "--generate", str(key), env=env))


def _ingest_who(env: dict[str, str], key: Path, *extra: str) -> Result:
    return run_cli(
        "ingest",
        WHO_SAMPLE,
        "--publisher",
        "who",
        "--format",
        WHO_FORMAT,
        "--sign-with",
        str(key),
        *extra,
        env=env,
    )


def _execute(db_url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement on the test database, as someone with direct access to it would."""

    async def run() -> list[Any]:
        engine = create_async_engine(db_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


# -- publishers -------------------------------------------------------------------------------


def test_publishers_add_from_catalogue_and_by_flags_then_list(db_url: str, tmp_path: Path) -> None:
    env = service_env(db_url, tmp_path)
    first = cli_ok(run_cli("publishers", "add", "--from-catalogue", "who", env=env))
    assert first.stdout.strip() == "who: registered"
    again = cli_ok(run_cli("publishers", "add", "--from-catalogue", "who", "--json", env=env))
    assert json.loads(again.stdout) == {"publishers": [{"slug": "who", "created": False}]}
    added = cli_ok(
        run_cli(
            "publishers",
            "add",
            "--slug",
            "it-paper",
            "--name",
            "Il Giornale di Prova",
            "--homepage",
            "https://giornale.example/covid",
            "--licence",
            "CC BY 4.0",
            "--kind",
            "newsroom",
            "--jurisdiction",
            "ITA",
            "--jurisdiction",
            "DEU",
            "--report-lag-days",
            "1",
            "--convention",
            "figures dated D cover counts up to D - 1",
            "--format",
            "dpc-ita-andamento-nazionale",
            env=env,
        )
    )
    assert added.stdout.strip() == "it-paper: registered"

    listed = cli_json(run_cli("publishers", "list", "--json", env=env))
    by_slug = {p["slug"]: p for p in listed["publishers"]}
    assert sorted(by_slug) == ["it-paper", "who"]
    paper = by_slug["it-paper"]
    assert paper["name"] == "Il Giornale di Prova"
    assert paper["kind"] == "newsroom"
    assert paper["jurisdictions"] == ["ITA", "DEU"]
    assert paper["conventions"] == {
        "report_lag_days": 1,
        "description": "figures dated D cover counts up to D - 1",
    }
    assert paper["formats"] == ["dpc-ita-andamento-nazionale"]
    assert by_slug["who"]["kind"] == "official-agency"
    assert by_slug["who"]["formats"] == ["who-covid-19-global-data"]
    assert all(p["keys"] == [] for p in listed["publishers"])
    text_list = cli_ok(run_cli("publishers", "list", env=env)).stdout
    assert "who" in text_list and "it-paper" in text_list and "keys: 0 valid of 0" in text_list
    assert "formats: who-covid-19-global-data" in text_list


BAD_PUBLISHERS: dict[str, tuple[tuple[str, str | None], list[str]]] = {
    "bad kind": (("--kind", "tabloid"), ["kind 'tabloid'", "expected one of", "newsroom"]),
    "unknown jurisdiction": (("--jurisdiction", "ZZZ"), ["jurisdiction 'ZZZ'", "expected"]),
    "bad homepage": (("--homepage", "giornale.example"), ["homepage", "expected an http(s) URL"]),
    "missing flag": (("--licence", None), ["missing --licence", "expected"]),
    "no jurisdiction": (("--jurisdiction", None), ["missing --jurisdiction", "expected"]),
    "no format": (("--format", None), ["missing --format", "expected"]),
    "unknown format": (("--format", "who-csv"), ["format 'who-csv'", "expected adapter names"]),
}


def _publisher_flags(**changes: str | None) -> list[str]:
    flags: dict[str, str | None] = {
        "--slug": "it-paper",
        "--name": "Il Giornale di Prova",
        "--homepage": "https://giornale.example/covid",
        "--licence": "CC BY 4.0",
        "--kind": "newsroom",
        "--jurisdiction": "ITA",
        "--format": "dpc-ita-andamento-nazionale",
    }
    flags.update(changes)
    return [part for flag, value in flags.items() if value is not None for part in (flag, value)]


def test_publishers_add_refusals_are_one_line_and_register_nothing(
    db_url: str, tmp_path: Path
) -> None:
    env = service_env(db_url, tmp_path)
    for label, ((flag, value), expected) in BAD_PUBLISHERS.items():
        result = run_cli("publishers", "add", *_publisher_flags(**{flag: value}), env=env)
        assert result.stdout == "", label
        cli_refused(result, *expected)
    cli_refused(
        run_cli("publishers", "add", "--from-catalogue", "who", "nobody", env=env),
        "not in the catalogue: nobody",
        "expected some of",
    )
    assert cli_json(run_cli("publishers", "list", "--json", env=env)) == {"publishers": []}
    assert "no publishers registered" in cli_ok(run_cli("publishers", "list", env=env)).stdout


# -- keys -------------------------------------------------------------------------------------


def test_keys_add_rotate_revoke_list(db_url: str, tmp_path: Path) -> None:
    env = service_env(db_url, tmp_path)
    cli_ok(run_cli("publishers", "add", "--from-catalogue", "who", env=env))
    first_file, second_file = tmp_path / "keys" / "who.key", tmp_path / "keys" / "who-2.key"

    added = cli_json(
        run_cli(
            "keys", "add", "--publisher", "who", "--generate", str(first_file), "--json", env=env
        )
    )
    assert first_file.stat().st_mode & 0o777 == 0o600
    signer = load_key(first_file, "who", kind="ed25519", what="publisher")
    assert added["key"] == signer.vkey and added["key_id"] == signer.key_id_hex
    assert added["status"] == "valid" and added["valid_until"] is None
    listed = cli_ok(run_cli("keys", "list", "--publisher", "who", env=env)).stdout
    assert listed.strip() == f"{signer.vkey}  valid"
    cli_refused(
        run_cli("keys", "add", "--publisher", "who", "--generate", str(first_file), env=env),
        "already registered",
    )
    cli_refused(
        run_cli("keys", "add", "--publisher", "nobody", "--vkey", signer.vkey, env=env),
        "unknown publisher 'nobody'",
    )

    rotated = cli_ok(
        run_cli(
            "keys",
            "rotate",
            "--publisher",
            "who",
            "--generate",
            str(second_file),
            "--grace-hours",
            "0",
            env=env,
        )
    ).stdout
    assert second_file.stat().st_mode & 0o777 == 0o600
    new = load_key(second_file, "who", kind="ed25519", what="publisher")
    assert f"added {new.vkey}" in rotated and f"retired {signer.vkey}" in rotated
    keys = cli_json(run_cli("keys", "list", "--publisher", "who", "--json", env=env))
    assert keys["publisher"] == "who"
    status = {k["key_id"]: k for k in keys["keys"]}
    assert list(status) == [signer.key_id_hex, new.key_id_hex]
    assert status[signer.key_id_hex]["valid_until"] is not None
    assert "expired" in status[signer.key_id_hex]["status"]
    assert status[new.key_id_hex]["status"] == "valid"

    revoked = cli_ok(
        run_cli(
            "keys",
            "revoke",
            "--publisher",
            "who",
            "--key",
            new.key_id_hex,
            "--reason",
            "laptop stolen",
            env=env,
        )
    ).stdout
    assert revoked.startswith(f"revoked {new.vkey} from ")
    cli_refused(
        run_cli(
            "keys",
            "revoke",
            "--publisher",
            "who",
            "--key",
            new.key_id_hex,
            "--reason",
            "again",
            env=env,
        ),
        f"{new.key_id_hex} was already revoked",
    )
    cli_refused(
        run_cli(
            "keys", "revoke", "--publisher", "who", "--key", "deadbeef", "--reason", "x", env=env
        ),
        "no key 'deadbeef'",
    )
    after = cli_json(run_cli("keys", "list", "--publisher", "who", "--json", env=env))["keys"]
    assert "revoked" in after[1]["status"] and "laptop stolen" in after[1]["status"]
    assert after[1]["revoked_at"] is not None
    # add, rotate (add + retire), revoke: one key leaf each
    assert ledger_size(env) == 4


# -- ingest -----------------------------------------------------------------------------------


def test_ingest_prints_the_summary_is_idempotent_and_takes_a_signature_file(
    db_url: str, tmp_path: Path
) -> None:
    env = service_env(db_url, tmp_path)
    key = tmp_path / "who.key"
    _register_who(env, key)

    summary = cli_ok(_ingest_who(env, key)).stdout
    assert summary.startswith("ingested: who who-covid-19-global-data WHO-COVID-19-global-data.csv")
    for line in (
        "rows read: 1698",
        "observations: 5504 parsed, 5504 new, 0 revised, 0 unchanged",
        "unmapped names: 1",
        "  'Other': 322 rows (international conveyance (cruise ships), not a region)",
        "rows refused: 0",
        "ledger: 5505 leaves appended, size 5506",
    ):
        assert line in summary.splitlines(), summary

    again = cli_json(_ingest_who(env, key, "--json"))
    assert {"status", "document", "rows_read", "observations", "unmapped", "rows_refused"} <= set(
        again
    )
    assert again["status"] == "unchanged"
    assert again["rows_read"] == 1698
    assert again["observations"] == {"parsed": 5504, "new": 0, "revised": 0, "unchanged": 5504}
    assert [u["name"] for u in again["unmapped"]] == ["Other"]
    assert again["rows_refused"] == 0 and again["refusals"] == []
    assert again["ledger"] == {"leaves": 0, "size": 5506}
    assert again["document"]["id"] == 1 and again["document"]["ledger_index"] == 1

    [document] = _documents(env)
    assert document["publisher"] == "who" and document["format"] == WHO_FORMAT
    assert document["observations"]["new"] == 5504
    stored = original_path(tmp_path / "data", document["sha256"])
    assert stored.read_bytes() == (ROOT / WHO_SAMPLE).read_bytes()
    assert stored.stat().st_mode & 0o222 == 0  # kept read-only

    # The demo's two WHO vintages, signed here as WHO would: the later one revises the earlier.
    signer = load_key(key, "who", kind="ed25519", what="publisher")
    reports = []
    for number, vintage in enumerate((WHO_VINTAGE, WHO_LATER)):
        note = tmp_path / f"vintage-{number}.sig"
        note.write_bytes(
            sign_document(
                (ROOT / vintage).read_bytes(),
                publisher="who",
                format=WHO_FORMAT,
                name="WHO-COVID-19-global-data.csv",
                signer=signer,
            )
        )
        signed = ("--signature", str(note), "--json")
        reports.append(
            cli_json(
                run_cli(
                    "ingest",
                    vintage,
                    "--publisher",
                    "who",
                    "--format",
                    WHO_FORMAT,
                    *signed,
                    env=env,
                )
            )
        )
    assert [r["status"] for r in reports] == ["ingested", "ingested"]
    assert [r["document"]["id"] for r in reports] == [2, 3]
    later = reports[1]["observations"]
    assert later == {"parsed": 6420, "new": 180, "revised": 752, "unchanged": 5488}
    assert reports[1]["ledger"]["leaves"] == 1 + 180 + 752
    assert ledger_size(env) == reports[1]["ledger"]["size"]
    assert [d["id"] for d in _documents(env)] == [1, 2, 3]


def test_ingest_refusals_leave_no_trace(db_url: str, tmp_path: Path) -> None:
    env = service_env(db_url, tmp_path)
    key = tmp_path / "who.key"
    _register_who(env, key)  # one key leaf

    content = (ROOT / WHO_VINTAGE).read_bytes()
    stranger = tmp_path / "stranger.sig"
    stranger.write_bytes(
        sign_document(
            content,
            publisher="who",
            format=WHO_FORMAT,
            name="WHO-COVID-19-global-data.csv",
            signer=generate_signer("who"),
        )
    )
    other_bytes = tmp_path / "other-bytes.sig"
    other_bytes.write_bytes(
        sign_document(
            (ROOT / WHO_SAMPLE).read_bytes(),
            publisher="who",
            format=WHO_FORMAT,
            name="WHO-COVID-19-global-data.csv",
            signer=load_key(key, "who", kind="ed25519", what="publisher"),
        )
    )

    def ingest(file: str, publisher: str, format: str, *signature: str) -> Result:
        return run_cli(
            "ingest", file, "--publisher", publisher, "--format", format, *signature, env=env
        )

    sign = ("--sign-with", str(key))
    refusals: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        ((WHO_VINTAGE, "who", "who-csv", *sign), ("unknown format 'who-csv'", "expected")),
        (
            # another publisher's format is refused before the content is even parsed
            (WHO_VINTAGE, "who", "owid-covid-data", *sign),
            ("does not publish format 'owid-covid-data'", "declares who-covid-19-global-data"),
        ),
        ((WHO_VINTAGE, "nobody", WHO_FORMAT, *sign), ("unknown publisher 'nobody'",)),
        (
            (WHO_VINTAGE, "who", WHO_FORMAT, "--signature", str(stranger)),
            ("unknown key", "no key of publisher 'who'"),
        ),
        (
            (WHO_VINTAGE, "who", WHO_FORMAT, "--signature", str(other_bytes)),
            ("does not match its signed statement",),
        ),
        (
            ("samples/who/missing.csv", "who", WHO_FORMAT, *sign),
            ("argument FILE: cannot read samples/who/missing.csv", "No such file"),
        ),
        (
            (WHO_VINTAGE, "who", WHO_FORMAT, "--signature", str(tmp_path / "none.sig")),
            ("argument --signature: cannot read", "none.sig"),
        ),
    ]
    for arguments, expected in refusals:
        result = ingest(*arguments)
        assert result.stdout == ""
        cli_refused(result, *expected)
        assert _documents(env) == [], expected
    assert ledger_size(env) == 1
    assert _originals(tmp_path) == []  # no original kept, none left half-written


# -- documents verify -------------------------------------------------------------------------


def test_documents_verify_finds_a_tampered_value_and_original(db_url: str, tmp_path: Path) -> None:
    env = service_env(db_url, tmp_path)
    key = tmp_path / "who.key"
    _register_who(env, key)
    cli_ok(_ingest_who(env, key))

    fine = cli_ok(run_cli("documents", "verify", "--all", env=env)).stdout
    assert fine.strip() == (
        "document 1 (who WHO-COVID-19-global-data.csv): ok, 5504 observations checked"
    )
    cli_refused(run_cli("documents", "verify", env=env), "expected document IDs or --all")
    cli_refused(run_cli("documents", "verify", "99", env=env), "no document with id 99")

    # An observation changed behind the ledger's back.
    [(index, row, value)] = _execute(
        db_url,
        "SELECT ledger_index, source_row, value FROM observation "
        "WHERE metric = 'cases_cumulative' AND value > 0 ORDER BY ledger_index LIMIT 1",
    )
    _execute(
        db_url, "UPDATE observation SET value = :v WHERE ledger_index = :i", v=value + 7, i=index
    )
    bad = run_cli("documents", "verify", "--all", env=env)
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    assert "FAILED" in bad.stdout
    assert f"record {row} (" in bad.stdout
    assert f"the original gives {value}" in bad.stdout
    assert f"(leaf {index}) differs from what was appended to the log" in bad.stdout
    cli_refused(bad, "1 of 1 documents do not match their originals", code=1)
    report = _json_failed(run_cli("documents", "verify", "--all", "--json", env=env))
    assert report["ok"] is False
    [check] = report["documents"]
    assert check["ok"] is False and any(f"record {row} " in p for p in check["problems"])

    # The kept original changed (checked first: verify stops there for that document).
    [document] = _documents(env)
    stored = original_path(tmp_path / "data", document["sha256"])
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes().replace(b",", b";", 1))
    report = _json_failed(run_cli("documents", "verify", "1", "--json", env=env))
    assert report["ok"] is False
    assert any("has changed" in p and str(stored) in p for p in report["documents"][0]["problems"])


def _json_failed(result: Result) -> Any:
    """The one JSON object of a ``--json`` check that found problems (exit 1, nothing on stderr)."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr == ""
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


# -- demo -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_load_then_again_changes_nothing(db_url: str, tmp_path: Path) -> None:
    env = service_env(db_url, tmp_path)
    documents = manifest()
    slugs = sorted({doc.publisher for doc in documents})

    *first, reconciled, demo_client = cli_ok(
        run_cli("demo", "load", env=env, timeout=300)
    ).stdout.splitlines()
    assert demo_client.startswith("demo OAuth client: client_id corroborate-demo (public, PKCE")
    assert len(first) == len(documents)
    assert all(line.startswith("ingested: ") for line in first), first
    assert reconciled.startswith("reconciled (full, run 1): "), reconciled
    for line, doc in zip(first, documents, strict=True):
        assert line.startswith(f"ingested: {doc.publisher} ")
    size = ledger_size(env)
    stored = _documents(env)
    assert [(d["publisher"], d["format"], d["name"]) for d in stored] == [
        (doc.publisher, doc.format, doc.name) for doc in documents
    ]

    publishers = cli_json(run_cli("publishers", "list", "--json", env=env))["publishers"]
    assert sorted(p["slug"] for p in publishers) == slugs
    known = catalogue()
    for publisher in publishers:
        spec = known[publisher["slug"]].record()
        assert {name: publisher[name] for name in spec} == spec
        [key] = publisher["keys"]
        assert key["key"].startswith(f"demo-{publisher['slug']}+")
        assert key["status"] == "valid"
    key_files = sorted((tmp_path / "data" / "demo-keys").iterdir())
    assert [f.name for f in key_files] == [f"{slug}.key" for slug in slugs]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in key_files)

    again = cli_json(run_cli("demo", "load", "--json", env=env, timeout=300))
    assert len(again["documents"]) == len(documents)
    assert {report["status"] for report in again["documents"]} == {"unchanged"}
    assert all(report["ledger"]["leaves"] == 0 for report in again["documents"])
    # nothing new to reconcile: an incremental run that reads no region and writes nothing
    assert again["reconciliation"]["mode"] == "incremental"
    assert again["reconciliation"]["regions"] == again["reconciliation"]["new_versions"] == 0
    assert ledger_size(env) == size
    assert _documents(env) == stored
    assert again["oauth_client"] == {
        "client_id": "corroborate-demo",
        "redirect_uris": ["http://127.0.0.1/callback", "http://[::1]/callback"],
        "scopes": ["openid", "profile", "member", "moderate", "publish"],
        "created": False,  # registered once, by the first load
    }
    clients = cli_json(run_cli("clients", "list", "--json", env=env))["clients"]
    assert [c["client_id"] for c in clients] == ["corroborate-demo"]

    verified = cli_ok(run_cli("documents", "verify", "--all", env=env, timeout=300)).stdout
    assert "FAILED" not in verified
    assert verified.count("): ok, ") == len(documents)


# -- formats ----------------------------------------------------------------------------------

DPC_SAMPLE = "samples/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"
DPC_FORMAT = "dpc-ita-andamento-nazionale"


def _table_counts(db_url: str) -> list[int]:
    return [
        _execute(db_url, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("document", "observation", "ledger_entry", "publisher")
    ]


def test_a_format_the_publisher_does_not_declare_is_refused_until_widened_on_the_log(
    db_url: str, tmp_path: Path
) -> None:
    """Issue 15, item 1: WHO's key must not put Italy's DPC file on WHO's record."""
    env = service_env(db_url, tmp_path)
    key = tmp_path / "who.key"
    _register_who(env, key)
    cli_ok(run_cli("publishers", "add", "--from-catalogue", "it-dpc", env=env))
    size, counts = ledger_size(env), _table_counts(db_url)

    def ingest_dpc_as_who(*extra: str) -> Result:
        return run_cli(
            "ingest",
            DPC_SAMPLE,
            "--publisher",
            "who",
            "--format",
            DPC_FORMAT,
            "--sign-with",
            str(key),
            *extra,
            env=env,
        )

    refused = cli_refused(
        ingest_dpc_as_who(),
        f"publisher 'who' does not publish format '{DPC_FORMAT}'",
        "its record declares who-covid-19-global-data",
        f"corroborate publishers formats add who {DPC_FORMAT}",
    )
    assert "Traceback" not in refused
    assert ledger_size(env) == size and _table_counts(db_url) == counts
    assert _originals(tmp_path) == []

    # widening needs a known format, a registered publisher and a reason; refusals write nothing
    fmt_add = ("publishers", "formats", "add")
    cli_refused(run_cli(*fmt_add, "who", "who-csv", "--reason", "x", env=env), "'who-csv'")
    cli_refused(
        run_cli(*fmt_add, "nobody", DPC_FORMAT, "--reason", "x", env=env), "unknown publisher"
    )
    cli_refused(run_cli(*fmt_add, "who", DPC_FORMAT, "--reason", " ", env=env), "needs a reason")
    cli_refused(run_cli(*fmt_add, "who", DPC_FORMAT, env=env), "--reason")
    assert ledger_size(env) == size and _table_counts(db_url) == counts

    widened = cli_json(
        run_cli(*fmt_add, "who", DPC_FORMAT, "--reason", "WHO republishes it", "--json", env=env)
    )
    assert widened == {
        "publisher": "who",
        "added": [DPC_FORMAT],
        "formats": [DPC_FORMAT, WHO_FORMAT],
        "ledger_index": size,
    }
    # the widening is a publisher leaf on the log, for anyone to see
    leaf = subprocess.run(
        [CORROBORATE, "ledger", "leaf", str(size)], env=env, cwd=ROOT, capture_output=True
    ).stdout
    header, record = leaf.split(b"\n", 1)
    assert header == b"corroborate/publisher/v1"
    assert json.loads(record) == {
        "action": "formats",
        "publisher": "who",
        "added": [DPC_FORMAT],
        "formats": [DPC_FORMAT, WHO_FORMAT],
        "reason": "WHO republishes it",
        "at": json.loads(record)["at"],
    }
    again = cli_ok(run_cli(*fmt_add, "who", DPC_FORMAT, "--reason", "again", env=env))
    assert "already declares" in again.stdout
    assert ledger_size(env) == size + 1  # idempotent: no second leaf
    listed = cli_json(run_cli("publishers", "list", "--json", env=env))["publishers"]
    assert {p["slug"]: p["formats"] for p in listed}["who"] == [DPC_FORMAT, WHO_FORMAT]
    # the catalogue record still matches: registering it again changes nothing
    cli_ok(run_cli("publishers", "add", "--from-catalogue", "who", env=env))

    cli_ok(ingest_dpc_as_who("--no-reconcile"))
    assert [d["format"] for d in _documents(env)] == [DPC_FORMAT]


@pytest.mark.slow
def test_after_demo_load_the_demo_client_signs_in_with_no_operator_command(
    db_url: str, tmp_path: Path
) -> None:
    """Issue 15, item 19: `make run` (migrate, demo load, serve), then a local app signs a member
    in with the demo client (authorization code + PKCE, loopback redirect) — no `clients add`."""
    port = free_port()
    env = cli_env(database_url=db_url, data_dir=str(tmp_path / "data"), port=str(port))
    cli_ok(run_cli("demo", "load", "--no-reconcile", env=env, timeout=300))
    process = subprocess.Popen(
        [CORROBORATE, "serve"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    redirect = "http://127.0.0.1/callback"
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)  # never block the suite
        banner = process.stdout.readline() if ready else ""
        assert banner.startswith("demo OAuth client: client_id corroborate-demo"), banner
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as http:
            signed_up = http.post(
                "/auth/sign-up",
                json={"email": "ada@example.org", "password": PASSWORD, "pseudonym": "ada"},
            )
            assert signed_up.status_code == 201, signed_up.text
            pkce = Pkce.new()
            page = http.get(
                "/oauth/authorize",
                params={
                    "response_type": "code",
                    "client_id": "corroborate-demo",
                    "redirect_uri": redirect,
                    "scope": "openid member",
                    "state": "demo-1",
                    "code_challenge": pkce.challenge,
                    "code_challenge_method": "S256",
                },
            )
            assert page.status_code == 200, page.text
            consent = http.post(
                "/oauth/authorize",
                data={
                    **hidden_fields(page.text),
                    "email": "ada@example.org",
                    "password": PASSWORD,
                },
            )
            assert consent.status_code == 200, consent.text
            allowed = http.post(
                "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "allow"}
            )
            assert allowed.status_code == 302, allowed.text
            location = urlsplit(allowed.headers["location"])
            assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
            code = parse_qs(location.query)["code"][0]
            token = http.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect,
                    "client_id": "corroborate-demo",
                    "code_verifier": pkce.verifier,
                },
            )
            assert token.status_code == 200, token.text
            access = token.json()["access_token"]
            me = http.post(
                "/graphql",
                json={"query": "{ me { pseudonym } }"},
                headers={"Authorization": f"Bearer {access}"},
            )
            assert me.json()["data"]["me"]["pseudonym"] == "ada", me.text
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
