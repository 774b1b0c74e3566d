"""The client examples of examples/ run against a live server on the demo data.

TypeScript (examples/typescript, installed by ``npm ci``: ``make test`` does it): graphql-codegen
generates the operations' types from the repository's schema.graphql, ``tsc`` checks the
examples against them, then ``tsx`` runs the country's figures, a figure's proof checked offline
(the checkpoint's Ed25519 signature and the inclusion proof, with Node's crypto; node's test
runner checks that each kind of tampering is refused) and a
``checkpointAdvanced`` subscription with graphql-ws. Python (examples/python, gql): the same query
and subscription. A missing node or missing modules fail the test: they never skip it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.note import generate_signer
from tests.docs.conftest import Live
from tests.helpers import ROOT

TYPESCRIPT = ROOT / "examples" / "typescript"
PYTHON_CLIENT = ROOT / "examples" / "python" / "corroborate_client.py"
INSTALL_HINT = (
    "run `make examples/typescript/node_modules/.installed` (npm ci in examples/typescript)"
)


def _tool(name: str) -> str:
    """A binary of examples/typescript's node_modules, after checking node and the install."""
    if shutil.which("node") is None:
        pytest.fail("expected node (20 or later) on PATH to run examples/typescript, found none")
    lock = json.loads((TYPESCRIPT / "package-lock.json").read_text())
    for package, wanted in lock["packages"][""]["devDependencies"].items():
        manifest = TYPESCRIPT / "node_modules" / package / "package.json"
        if not manifest.is_file():
            pytest.fail(f"expected {manifest.relative_to(ROOT)}, found nothing: {INSTALL_HINT}")
        installed = json.loads(manifest.read_text())["version"]
        if installed != wanted:
            pytest.fail(f"expected {package} {wanted}, found {installed}: {INSTALL_HINT}")
    return str(TYPESCRIPT / "node_modules" / ".bin" / name)


def _run(
    args: list[str], live: Live, cwd: Path = TYPESCRIPT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**live.env, "CORROBORATE_URL": live.graphql, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _until_exit(args: list[str], live: Live, cwd: Path) -> tuple[int, str, str]:
    """Run a subscriber, writing to the log through the API each second until it exits."""
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env={**live.env, "CORROBORATE_URL": live.graphql},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    try:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
            live.write()
    finally:
        if process.poll() is None:
            process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def _figure_lines(output: str, live: Live) -> list[str]:
    """The client's lines for ITA's cumulative cases in June 2020, checked against what the API
    answers now (the session's server is shared: other tests may have corrected a figure)."""
    lines = output.strip().splitlines()
    assert lines and lines[-1] == "30 figures", f"expected June's 30 figures of ITA, got {output!r}"
    found = live.post(
        '{ figures(region: "ITA", metric: CASES_CUMULATIVE, from: "2020-06-01", '
        'to: "2020-06-30", first: 30) { nodes { date value status } } }'
    )
    assert "errors" not in found, found
    expected = [
        f"{node['date']} {node['value']} {node['status']}"
        for node in sorted(found["data"]["figures"]["nodes"], key=lambda node: node["date"])
    ]
    assert len(expected) == 30
    assert [" ".join(line.split()[:3]) for line in lines[:-1]] == expected, lines
    return lines[:-1]


@pytest.mark.slow
def test_typescript_client_typechecks_against_the_schema_and_runs(live: Live) -> None:
    codegen = _run([_tool("graphql-codegen"), "--config", "codegen.ts", "--silent"], live)
    assert codegen.returncode == 0, f"graphql-codegen: {codegen.stdout}{codegen.stderr}"
    typecheck = _run([_tool("tsc"), "-p", "."], live)
    assert typecheck.returncode == 0, f"tsc: {typecheck.stdout}{typecheck.stderr}"
    tsx = _tool("tsx")

    figures = _run([tsx, "src/figures.ts", "ITA", "2020-06-01", "2020-06-30"], live)
    assert figures.returncode == 0, figures.stderr
    first = _figure_lines(figures.stdout, live)[0]
    assert first.startswith("2020-06-01 ") and "ecdc=233197" in first, first

    vkey = live.cli("ledger", "vkey").strip()  # pinned from the operator, not from the response
    proof = _run([tsx, "src/proof.ts", vkey], live)
    assert proof.returncode == 0, f"{proof.stdout}{proof.stderr}"
    assert proof.stdout.startswith("verified: ITA CASES_CUMULATIVE 2020-06-01 = "), proof.stdout
    impostor = generate_signer(vkey.split("+")[0]).vkey  # the log's name, another key
    refused = _run([tsx, "src/proof.ts", impostor], live)
    assert refused.returncode == 1, f"{refused.stdout}{refused.stderr}"
    assert "NOT verified: expected a valid signature by" in refused.stderr, refused.stderr

    tampering = _run([tsx, "--test", "src/tlog.test.ts"], live, env={"CORROBORATE_VKEY": vkey})
    assert tampering.returncode == 0, f"{tampering.stdout}{tampering.stderr}"
    assert "# pass 6" in tampering.stdout and "# fail 0" in tampering.stdout, tampering.stdout

    code, out, err = _until_exit([tsx, "src/checkpoints.ts", "1"], live, TYPESCRIPT)
    assert code == 0, f"exit {code}: {out}{err}"
    assert out.startswith("checkpoint ") and out.strip().endswith("Z"), out


@pytest.mark.slow
def test_python_client_queries_and_subscribes(live: Live) -> None:
    figures = _run([sys.executable, str(PYTHON_CLIENT), "figures", "ITA"], live, ROOT)
    assert figures.returncode == 0, figures.stderr
    first = _figure_lines(figures.stdout, live)[0]
    assert first.startswith("2020-06-01 ") and "ecdc=233197" in first, first

    args = [sys.executable, str(PYTHON_CLIENT), "checkpoints", "2"]
    code, out, err = _until_exit(args, live, ROOT)
    assert code == 0, f"exit {code}: {out}{err}"
    sizes = [int(line.split()[1]) for line in out.splitlines()]
    assert len(sizes) == 2 and sizes[0] < sizes[1], out
