"""The graphql-http audit suite (GraphQL over HTTP conformance) against a live ``corroborate serve``.

tests/http_audit/ pins graphql-http 1.23.1; ``make test`` installs it with ``npm ci``. Each audit's
name starts with MUST, SHOULD or MAY, and graphql-http reports a failed MUST as status "error", a
failed SHOULD as "warn" and a failed MAY as "notice" (lib/audits/utils.js). MUST and SHOULD have to
pass. A missing node or missing modules fail the test: they never skip it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, cli_env, free_port, serving

AUDIT_DIR = ROOT / "tests" / "http_audit"
GRAPHQL_HTTP_VERSION = "1.23.1"
AUDIT_COUNT = 61  # graphql-http 1.23.1's serverAudits
INSTALL_HINT = "run `make tests/http_audit/node_modules/.installed` (npm ci in tests/http_audit)"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("expected node (20 or later) on PATH to run the graphql-http audit, found none")
    manifest = AUDIT_DIR / "node_modules" / "graphql-http" / "package.json"
    if not manifest.is_file():
        pytest.fail(f"expected {manifest.relative_to(ROOT)}, found nothing: {INSTALL_HINT}")
    installed = json.loads(manifest.read_text())["version"]
    if installed != GRAPHQL_HTTP_VERSION:
        pytest.fail(
            f"expected graphql-http {GRAPHQL_HTTP_VERSION}, found {installed}: {INSTALL_HINT}"
        )
    return node


def _audit(node: str, url: str) -> list[dict[str, Any]]:
    run = subprocess.run(
        [node, str(AUDIT_DIR / "audit.mjs"), url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, f"audit.mjs exited with {run.returncode}: {run.stderr}"
    results: list[dict[str, Any]] = json.loads(run.stdout)["results"]
    return results


def _describe(result: dict[str, Any]) -> str:
    line = f"{result['id']} {result['name']}: {result['reason']}"
    response = result.get("response")
    if response:
        line += (
            f"\n    got {response['status']} {response['contentType']}: {response['body'][:200]}"
        )
    return line


def test_server_passes_every_must_and_should_graphql_http_audit(
    db_url: str, tmp_path: Path
) -> None:
    node = _node()
    port = free_port()
    env = cli_env(database_url=db_url, data_dir=str(tmp_path / "data"), port=str(port))
    with serving(["serve"], env, port) as base:
        results = _audit(node, base + "/graphql")
    assert len(results) == AUDIT_COUNT, f"expected {AUDIT_COUNT} audits, got {len(results)}"
    failed = [r for r in results if r["status"] in ("error", "warn")]
    assert not failed, f"{len(failed)} MUST/SHOULD audits failed:\n" + "\n".join(
        _describe(r) for r in failed
    )
