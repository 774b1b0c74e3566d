"""``corroborate reconcile``, ``figures show`` and ``figures disputed`` as real processes, on the
demo set (real extracts), against SQLite and PostgreSQL; then a revised document re-attests only
what it touches, through ``corroborate ingest``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.test_cli_ingest import cli_json, cli_ok, cli_refused, ledger_size, run_cli, service_env

DPC = ROOT / "samples/demo/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"


def _revised_dpc(tmp_path: Path) -> Path:
    """The ministry's file with its last day's case total revised up by 1,000 (a new vintage)."""
    lines = DPC.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].split(",")
    column = header.index("totale_casi")
    last = lines[-1].split(",")
    last[column] = str(int(last[column]) + 1000)
    lines[-1] = ",".join(last)
    revised = tmp_path / DPC.name
    revised.write_text("".join(lines), encoding="utf-8")
    return revised


@pytest.mark.slow
def test_reconcile_show_disputed_and_incremental_after_ingest(db_url: str, tmp_path: Path) -> None:
    env = service_env(db_url, tmp_path)
    loaded = cli_json(run_cli("demo", "load", "--no-reconcile", "--json", env=env, timeout=300))
    assert "reconciliation" not in loaded

    # figures before any run: a clear refusal, not an empty answer
    cli_refused(
        run_cli("figures", "show", "ITA", "cases_cumulative", "2020-06-01", env=env),
        "no attested figure for ITA cases_cumulative on 2020-06-01",
        "corroborate reconcile",
    )

    before = ledger_size(env)
    report = cli_json(run_cli("reconcile", "--json", env=env, timeout=300))
    assert report["mode"] == "full" and report["run"] == 1
    assert report["figures"] == report["new_versions"] == sum(report["by_status"].values()) > 0
    assert set(report["by_status"]) <= {"ATTESTED", "DISPUTED", "SINGLE_SOURCE"}
    # and a system challenge on each of the widest disputes, up to the run's cap (100)
    opened = report["system_challenges"]
    disputed = report["by_status"].get("DISPUTED", 0)
    assert opened["opened"] == 100 and opened["skipped_open"] == 0
    assert 0 < opened["left_over"] <= disputed - 100
    assert ledger_size(env) == before + report["new_versions"] + opened["opened"]
    assert ledger_size(env) == report["log_size"]
    linked = {tuple(link["publishers"]) for link in report["lineages"]}
    assert ("it-dpc", "jhu-csse") in linked
    shifts = {s["publisher"]: s for s in report["date_shifts"]}
    assert shifts["who"]["declared"] == shifts["who"]["best"] == 1
    assert shifts["it-dpc"]["declared"] == shifts["it-dpc"]["best"] == 0

    # the same again, as text: nothing new, an incremental run that writes nothing
    text = cli_ok(run_cli("reconcile", env=env, timeout=300)).stdout
    assert text.startswith("incremental reconciliation (run 2) in ")
    assert "0 figures; 0 new versions" in text
    assert "it-dpc + jhu-csse: " in text and "(ITA)" in text
    assert "date shifts" in text and "  who: declared +1 day(s)" in text
    assert ledger_size(env) == report["log_size"]

    figure = cli_json(
        run_cli("figures", "show", "ITA", "cases_cumulative", "2020-06-01", "--json", env=env)
    )
    assert figure["status"] == "ATTESTED" and figure["version"] == 1
    by_publisher = {item["publisher"]: item for item in figure["inputs"]}
    assert {"it-dpc", "jhu-csse", "who"} <= set(by_publisher)
    dpc, jhu, who = by_publisher["it-dpc"], by_publisher["jhu-csse"], by_publisher["who"]
    assert dpc["lineage"] == jhu["lineage"] != who["lineage"]  # copies, counted once
    assert dpc["counted"] and not jhu["counted"]
    assert who["date"] == "2020-06-02"  # WHO's report of the next day covers the 1st
    assert "who dates shifted −1 day" in figure["explanation"]
    assert "it-dpc and jhu-csse counted once (copies)" in figure["explanation"]
    # the figure's proof, and the proofs of the observations it names, verify offline
    vkey = tmp_path / "log.vkey"
    vkey.write_text(cli_ok(run_cli("ledger", "vkey", env=env)).stdout, encoding="utf-8")
    for index in [figure["ledger_index"], *dpc["observations"], *who["observations"]]:
        leaf, proof = tmp_path / f"{index}.leaf", tmp_path / f"{index}.proof"
        leaf_bytes = cli_ok(run_cli("ledger", "leaf", str(index), env=env)).stdout
        leaf.write_bytes(leaf_bytes.encode("utf-8"))
        proof.write_text(
            cli_ok(run_cli("ledger", "proof", str(index), env=env)).stdout, encoding="utf-8"
        )
        cli_ok(run_cli("verify", str(proof), "--leaf", str(leaf), "--vkey", str(vkey), env=env))
        kind = "attestation" if index == figure["ledger_index"] else "observation"
        assert leaf_bytes.startswith(f"corroborate/{kind}/v1\n")
    shown = cli_ok(run_cli("figures", "show", "ITA", "cases_cumulative", "2020-06-01", env=env))
    assert shown.stdout.startswith(f"ITA cases_cumulative 2020-06-01: {figure['value']:,} ATTESTED")
    assert "  it-dpc: " in shown.stdout and "counted" in shown.stdout

    disputed = cli_json(run_cli("figures", "disputed", "--json", "--limit", "50", env=env))
    found = disputed["discrepancies"]
    assert found and all(f["status"] == "DISPUTED" and f["latest"] for f in found)
    ratios = [f["spread_ratio"] for f in found if f["spread_ratio"] is not None]
    assert ratios == sorted(ratios, reverse=True)
    assert all(len(f["lineage_values"]) >= 2 for f in found)
    recent = cli_json(
        run_cli("figures", "disputed", "--json", "--sort", "date", "--region", "ESP", env=env)
    )["discrepancies"]
    assert recent and {f["region"] for f in recent} == {"ESP"}
    dates = [f["date"] for f in recent]
    assert dates == sorted(dates, reverse=True)

    # bad input: one line each, exit 2
    cli_refused(run_cli("figures", "show", "ITA", "cases", "2020-06-01", env=env), "metric 'cases'")
    cli_refused(run_cli("figures", "show", "XXX", "cases_daily", "2020-06-01", env=env), "'XXX'")
    cli_refused(run_cli("figures", "show", "ITA", "cases_daily", "1 June", env=env), "2020-04-01")
    cli_refused(run_cli("reconcile", "--since", "yesterday", env=env), "--since")
    cli_refused(run_cli("figures", "disputed", "--limit", "0", env=env), "--limit 0")

    # a revised document: ingest re-attests the figures it touches, and only those
    revised = _revised_dpc(tmp_path)
    size = ledger_size(env)
    ingested = cli_json(
        run_cli(
            "ingest",
            str(revised),
            "--publisher",
            "it-dpc",
            "--format",
            "dpc-ita-andamento-nazionale",
            "--sign-with",
            str(tmp_path / "data" / "demo-keys" / "it-dpc.key"),
            "--json",
            env=env,
        )
    )
    assert ingested["observations"]["revised"] == 1
    again = ingested["reconciliation"]
    assert again["mode"] == "incremental" and again["regions"] == 1
    assert 0 < again["new_versions"] <= 4  # the day's cumulative figure and the daily ones
    opened_again = again["system_challenges"]["opened"]
    assert ledger_size(env) == (
        size + ingested["ledger"]["leaves"] + again["new_versions"] + opened_again
    )

    last_day = DPC.read_text(encoding="utf-8").splitlines()[-1].split("T")[0]
    day = dt.date.fromisoformat(last_day).isoformat()
    latest = cli_json(run_cli("figures", "show", "ITA", "cases_cumulative", day, "--json", env=env))
    assert latest["version"] == 2 and len(latest["versions"]) == 2
    old = latest["versions"][0]
    assert not old["latest"] and latest["supersedes"] == old["ledger_index"]
    first = cli_json(
        run_cli(
            "figures", "show", "ITA", "cases_cumulative", day, "--version", "1", "--json", env=env
        )
    )
    dpc_now = next(i for i in latest["inputs"] if i["publisher"] == "it-dpc")
    dpc_then = next(i for i in first["inputs"] if i["publisher"] == "it-dpc")
    assert dpc_now["value"] == dpc_then["value"] + 1000
    assert dpc_now["observations"] != dpc_then["observations"]  # the new observation version
    # a figure elsewhere is untouched
    untouched = cli_json(
        run_cli("figures", "show", "DEU", "cases_cumulative", "2020-06-01", "--json", env=env)
    )
    assert untouched["version"] == 1
