"""Every example of README.md and docs/api.md, executed against a live server on the demo data.

How the examples are found and run (the rules of tests/docs/markdown_blocks.py, and these):

- Each fenced block of a document is taken in order, in one working directory per document (so a
  block can use the files and shell variables an earlier one made). Before the first block the
  directory holds ``.venv`` (a link to the repository's, as in a clone) and the input files of
  ``INPUTS`` (made as the prose around the block that reads them says).
- The examples' address ``127.0.0.1:8000`` (``make run``'s) is replaced by the live server's.
- ``graphql``: every operation of the block is sent in order (the whole block as the document,
  with its ``operationName``), with the variables of a ```` ```json variables ```` block right
  after it (each operation gets those it declares). An operation whose first line says
  ``Authorization: Bearer <a member's token>`` (or ``<a moderator's token>``, ``<another
  moderator's token>``) is sent with a real token of such a person from our own authorization
  server (tests/docs/conftest.py). Queries and mutations must answer HTTP 200 with data and no
  ``errors``. Subscriptions are started over a websocket (``graphql-transport-ws``); the test
  then writes to the log through the API (a moderator triages an open challenge) until
  every one of them has yielded an event (for ``figureChanged``, moderators also correct a figure
  of its region and metric, as a challenge upheld with four eyes does); none may yield an error.
- ``sh``: run by ``bash -euo pipefail`` with ``.venv/bin`` first on the PATH and the operator's
  environment (``CORROBORATE_DATABASE_URL`` and ``CORROBORATE_DATA_DIR`` of the live server);
  shell variables a block sets are kept for the later blocks. It must exit 0.
- ``python``: run by the test's Python; it must exit 0. One that subscribes (its text says
  ``subscription``) gets the same writes as a GraphQL subscription until it exits.
- ```` ```json answer ````: the answer of the block before it (a GraphQL operation's response, or
  the JSON a shell block printed; of a block of several operations, the last one's answer) must
  have its shape: every key shown (but ``"…"``) is there with
  a value of the same JSON type, a list has the items shown at their positions (and more only
  when ``"…"`` ends it), an answer with ``errors`` shows them, and words (strings
  without digits: statuses, modes) are equal; numbers, hashes, IDs, URLs and times may differ.
- A block marked ``<!-- not-executed: why -->`` is not run; ``NOT_EXECUTED`` counts them per
  document, so a new mark fails this test until it is counted here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    value_from_ast_untyped,
)
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.docs.conftest import Live
from tests.docs.markdown_blocks import Block, MarkdownError, blocks
from tests.helpers import ROOT

DOCUMENTS = ("README.md", "docs/api.md")
#: blocks deliberately not run, per document (each is marked with its reason in the Markdown)
NOT_EXECUTED = {"README.md": 1, "docs/api.md": 0}
TOKENS = {
    "a member's token": "member",
    "a moderator's token": "moderator",
    "another moderator's token": "moderator2",
}
_AUTHORIZATION = re.compile(r"Authorization: Bearer <(?P<who>[^>]+)>")


def _corrected_dpc_file() -> bytes:
    """docs/api.md, "Submitting documents": the DPC's national file of the demo data with one
    death count of 2020-02-24 revised from 7 to 8."""
    original = (
        ROOT / "samples/demo/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv"
    ).read_bytes()
    row = b"2020-02-24T18:00:00,ITA,101,26,127,94,221,0,221,1,7,"
    assert original.count(row) == 1, "expected the demo's DPC file to hold 2020-02-24 with 7 deaths"
    return original.replace(row, row[: -len(b"7,")] + b"8,")


INPUTS = {"dpc-covid19-ita-andamento-nazionale.csv": _corrected_dpc_file}


# -- the answer's shape ---------------------------------------------------------------------------


def _is_word(value: str) -> bool:
    return not re.search(r"\d", value) and value != "…"


def shape_mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where ``actual`` does not have the shape of ``expected`` (the rules in the docstring)."""
    if expected is None or expected == "…":
        return []
    if (
        where == "$"
        and isinstance(actual, dict)
        and "errors" in actual
        and "errors" not in expected
    ):
        return [f"$: expected no errors, got {json.dumps(actual['errors'])[:500]}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {json.dumps(actual)[:80]}"]
        problems = []
        for key, value in expected.items():
            if key == "…":
                continue
            if key not in actual:
                problems.append(f"{where}: expected key {key!r}, got keys {sorted(actual)}")
            else:
                problems += shape_mismatches(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {json.dumps(actual)[:80]}"]
        shown = [item for item in expected if item != "…"]
        if len(actual) < len(shown) or (len(actual) > len(shown) and "…" not in expected):
            more = " or more" if "…" in expected else ""
            return [f"{where}: expected {len(shown)}{more} items, got {len(actual)}"]
        return [
            problem
            for i, item in enumerate(shown)
            for problem in shape_mismatches(item, actual[i], f"{where}[{i}]")
        ]
    if isinstance(expected, bool):
        return [] if actual == expected else [f"{where}: expected {expected}, got {actual}"]
    if isinstance(expected, (int, float)):
        ok = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        return [] if ok else [f"{where}: expected a number, got {json.dumps(actual)[:80]}"]
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return [f"{where}: expected a string, got {json.dumps(actual)[:80]}"]
        if _is_word(expected) and actual != expected:
            return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def _figure_changed(
    operation: OperationDefinitionNode, variables: dict[str, Any]
) -> dict[str, Any] | None:
    """The arguments of a ``figureChanged`` subscription (None for any other)."""
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value == "figureChanged":
            return {
                argument.name.value: value_from_ast_untyped(argument.value, variables)
                for argument in selection.arguments or ()
            }
    return None


# -- running a document ---------------------------------------------------------------------------


@dataclass
class Run:
    live: Live
    workdir: Path
    answer: Any = None  # what the last executed block answered
    written: dict[str, Block] = field(default_factory=dict)  # file= blocks not yet used
    skipped: list[Block] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = dict(self.live.env)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return env

    def text(self, block: Block) -> str:
        port = self.live.base.rsplit(":", 1)[1]
        return block.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")

    def note_uses(self, block: Block) -> None:
        for name in [n for n in self.written if n in block.text]:
            del self.written[name]

    # graphql ---------------------------------------------------------------------------------

    def graphql(self, block: Block, variables: dict[str, Any]) -> None:
        text = self.text(block)
        try:
            document = parse(text)
        except GraphQLError as error:
            raise AssertionError(f"not GraphQL: {error}") from error
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        subscriptions = []
        for operation in operations:
            assert operation.loc is not None
            first_line = text[operation.loc.start :].split("\n", 1)[0]
            said = _AUTHORIZATION.search(first_line)
            token = None
            if said:
                assert said["who"] in TOKENS, (
                    f"expected one of {sorted(TOKENS)}, got {said['who']!r}"
                )
                token = self.live.tokens[TOKENS[said["who"]]]
            declared = {d.variable.name.value for d in operation.variable_definitions or ()}
            payload = {
                "query": text,
                "operationName": operation.name.value if operation.name else None,
                "variables": {k: v for k, v in variables.items() if k in declared},
            }
            if operation.operation is OperationType.SUBSCRIPTION:
                subscriptions.append((payload, token, _figure_changed(operation, variables)))
                continue
            headers = {"accept": "application/graphql-response+json"}
            if token:
                headers["authorization"] = f"Bearer {token}"
            response = httpx.post(self.live.graphql, json=payload, headers=headers, timeout=120)
            name = payload["operationName"] or "the operation"
            assert response.status_code == 200, (
                f"{name}: HTTP {response.status_code} {response.text[:500]}"
            )
            body = response.json()
            assert "errors" not in body and body.get("data"), f"{name}: {json.dumps(body)[:1500]}"
            self.answer = body
        if subscriptions:
            self.answer = asyncio.run(self.subscribe(subscriptions))

    async def subscribe(
        self, operations: list[tuple[dict[str, Any], str | None, dict[str, Any] | None]]
    ) -> Any:
        """Start every subscription, then write until each has yielded an event."""
        tokens = {t for _, t, _ in operations if t}
        init: dict[str, Any] = {"type": "connection_init"}
        if tokens:
            init["payload"] = {"authorization": f"Bearer {tokens.pop()}"}
        async with connect(self.live.ws, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for number, (payload, _, _) in enumerate(operations):
                await ws.send(
                    json.dumps({"id": str(number), "type": "subscribe", "payload": payload})
                )
            pending = {str(number): changed for number, (_, _, changed) in enumerate(operations)}
            first: Any = None
            deadline = time.monotonic() + 60
            for attempt in itertools.count():
                if not pending or time.monotonic() > deadline:
                    break
                await asyncio.to_thread(self.live.write)
                if attempt == 1:  # the subscriptions are running by now
                    for changed in [c for c in pending.values() if c]:
                        await asyncio.to_thread(
                            self.live.correct, changed["region"], changed.get("metric")
                        )
                with contextlib.suppress(TimeoutError):
                    while pending:
                        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=2))
                        assert message["type"] == "next", message
                        assert "errors" not in message["payload"], message
                        pending.pop(message["id"], None)
                        first = first or message["payload"]
            names = [operations[int(n)][0]["operationName"] or n for n in pending]
            assert not pending, (
                f"expected an event from every subscription within 60 s, none from {names}"
            )
            return first

    # sh and python -----------------------------------------------------------------------------

    def shell(self, block: Block) -> None:
        state = self.workdir / ".shell-state"
        script = "\n".join(
            [
                "set -euo pipefail",
                f'if [ -f "{state}" ]; then source "{state}"; fi',
                "set -a",
                self.text(block),
                "set +a",
                f'export -p > "{state}"',
            ]
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, (
            f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
        try:
            self.answer = json.loads(done.stdout)
        except ValueError:
            self.answer = done.stdout

    def python(self, block: Block) -> None:
        script = self.workdir / f"block-{block.line}.py"
        script.write_text(self.text(block))
        process = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        try:
            while process.poll() is None and time.monotonic() < deadline:
                if "subscription" in block.text:
                    self.live.write()
                time.sleep(1)
            assert process.poll() is not None, "still running after 120 s"
        finally:
            if process.poll() is None:
                process.kill()
            out, err = process.communicate()
        assert process.returncode == 0, f"exit {process.returncode}\n{out[-2000:]}\n{err[-2000:]}"
        self.answer = out


def run_document(live: Live, path: Path, workdir: Path) -> tuple[list[str], Run]:
    """Run every block of ``path``; the failures, each naming its block, and the run."""
    workdir.mkdir(parents=True)
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    for name, make in INPUTS.items():
        (workdir / name).write_bytes(make())
    run = Run(live, workdir)
    found = blocks(path)
    failures: list[str] = []
    for position, block in enumerate(found):
        following = found[position + 1] if position + 1 < len(found) else None
        if block.not_executed is not None:
            run.skipped.append(block)
            continue
        try:
            if block.lang == "json":
                if "variables" in block.words:
                    previous = found[position - 1] if position else None
                    assert previous is not None and previous.lang == "graphql", (
                        "json variables must follow a graphql block"
                    )
                    continue  # sent with that block
                expected = json.loads(block.text)
                if failures and failures[-1].startswith(f"{found[position - 1].where} "):
                    continue  # the block it answers failed: that failure says enough
                assert run.answer is not None, "json answer must follow a block that answers"
                problems = shape_mismatches(expected, run.answer)
                assert not problems, "\n".join(problems[:20])
                continue
            run.answer = None
            run.note_uses(block)
            if block.lang == "graphql" and block.word("file"):
                name = str(block.word("file"))
                (workdir / name).write_text(run.text(block))
                run.written[name] = block
            elif block.lang == "graphql":
                variables: dict[str, Any] = {}
                if following and following.lang == "json" and "variables" in following.words:
                    variables = json.loads(following.text)
                run.graphql(block, variables)
            elif block.lang == "sh":
                run.shell(block)
            elif block.lang == "python":
                run.python(block)
        except (AssertionError, ValueError, OSError, subprocess.SubprocessError) as error:
            failures.append(f"{block.where} ({block.lang}): {error}")
    failures += [
        f"{b.where}: file={name} is used by no later block" for name, b in run.written.items()
    ]
    return failures, run


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_example_of_the_document_runs(live: Live, document: str, tmp_path: Path) -> None:
    failures, run = run_document(live, ROOT / document, tmp_path / "work")
    assert not failures, f"{len(failures)} example(s) of {document} failed:\n\n" + "\n\n".join(
        failures
    )
    marked = [f"{b.where}: {b.not_executed}" for b in run.skipped]
    assert len(marked) == NOT_EXECUTED[document], (
        f"expected {NOT_EXECUTED[document]} block(s) of {document} marked not-executed, "
        f"got {len(marked)}: {marked}"
    )


# -- the extraction rules themselves (no server) --------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.md"
    path.write_text(text)
    return path


def test_blocks_are_taken_in_order_with_their_words_and_marks(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "text\n\n```graphql file=q.graphql\n{ a }\n```\n\n<!-- not-executed: serves forever -->\n"
        "```sh\nmake run\n```\n\n```json variables\n{}\n```\n",
    )
    found = blocks(path)
    assert [(b.lang, b.words, b.not_executed, b.line) for b in found] == [
        ("graphql", ("file=q.graphql",), None, 3),
        ("sh", (), "serves forever", 8),
        ("json", ("variables",), None, 12),
    ]
    assert found[0].word("file") == "q.graphql"


@pytest.mark.parametrize(
    "text",
    [
        "```json\n{}\n```\n",  # neither variables nor answer
        "```bash\nls\n```\n",  # an unknown language
        "```\nls\n```\n",  # none
        "para\n\n    indented code\n",  # an indented block
        "<!-- not-executed: -->\n```sh\nls\n```\n",  # a mark without a reason
    ],
)
def test_a_block_the_rules_do_not_cover_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(MarkdownError):
        blocks(_write(tmp_path, text))


def test_the_shape_of_an_answer() -> None:
    expected = {
        "status": "ingested",
        "ledgerIndex": 1,
        "summary": {"rows": [{"a": "x1"}, "…"], "…": "…"},
    }
    same = {
        "status": "ingested",
        "ledgerIndex": 7,
        "summary": {"rows": [{"a": "y2"}, {"a": "z"}], "b": 1},
    }
    assert shape_mismatches(expected, same) == []
    assert shape_mismatches(expected, {**same, "status": "unchanged"}) == [
        "$.status: expected 'ingested', got 'unchanged'"
    ]
    assert shape_mismatches(expected, {**same, "ledgerIndex": "7"}) == [
        '$.ledgerIndex: expected a number, got "7"'
    ]
    missing = shape_mismatches(expected, {"status": "ingested", "summary": {"rows": []}})
    assert missing == [
        "$: expected key 'ledgerIndex', got keys ['status', 'summary']",
        "$.summary.rows: expected 1 or more items, got 0",
    ]
    assert shape_mismatches([1], [1, 2]) == ["$: expected 1 items, got 2"]
    assert shape_mismatches({"data": {}}, {"data": {}, "errors": [{"message": "no"}]}) == [
        '$: expected no errors, got [{"message": "no"}]'
    ]
