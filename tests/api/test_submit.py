"""Publishers submitting documents through the API, end to end over HTTP on every backend: a
publisher's machine client gets a token from our own authorization server (client credentials),
signs a real sample with the publisher's key and sends it through the ``submitDocument`` mutation
and through ``POST /documents``; the document is then on the log, readable through GraphQL, and
its original downloads byte for byte. Every refusal — no token, a bad token, a member without the
publisher role, another publisher's client, a bad signature, bad base64, a document over the cap
— answers with its code and leaves the ledger, the documents and the originals as they were.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.sources import routes
from api.sources.submit import MAX_GRAPHQL_DOCUMENT_BYTES
from identity.clients import register_client
from ingest.publishers import add_key, add_publisher, catalogue
from ingest.reconcile.engine import reconcile
from ledger.note import Signer, generate_signer
from models import Document
from service.runtime import Runtime
from service.settings import Settings, load_settings
from tests.auth.conftest import Pkce, authorization_code, exchange, make_client, sign_up
from tests.conftest import TEST_ORIGIN
from tests.helpers import ROOT

FORMAT = "dpc-ita-andamento-nazionale"
NAME = "dpc-covid19-ita-andamento-nazionale.csv"
SAMPLE = ROOT / "samples" / "italy_dpc" / NAME  # 40 records, 4 kB
DEMO = ROOT / "samples" / "demo" / "italy_dpc" / NAME  # 2020, 36 kB
WHO_SAMPLE = ROOT / "samples" / "who" / "WHO-COVID-19-global-data.csv"  # 67 kB

SUBMIT = """
mutation Submit($input: SubmitDocumentInput!) {
  submitDocument(input: $input) {
    status ledgerIndex
    document { id name sha256 size ledgerIndex downloadUrl publisher { slug } }
    summary {
      rowsRead observationsParsed new revised unchanged skippedEmptyCells rowsRefused
      refusals { record field reason } unmapped { name rows reason } notes
      leavesAppended ledgerSize
    }
    reconciliation { run mode regions figures newVersions unchanged }
  }
}
"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Cheap argon2 for the member's sign-up (the flows are the same)."""
    return load_settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        log_origin=TEST_ORIGIN,
        auth_argon2_time_cost=1,
        auth_argon2_memory_kib=64,
    )


@dataclass
class Machine:
    """A registered publisher, its signing key and its machine client's access token."""

    slug: str
    signer: Signer
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def sign(self, content: bytes, *, signer: Signer | None = None, slug: str | None = None) -> str:
        from ingest.documents import sign_document

        return sign_document(
            content,
            publisher=slug or self.slug,
            format=FORMAT,
            name=NAME,
            signer=signer or self.signer,
        ).decode()


async def register(runtime: Runtime, client: httpx.AsyncClient, slug: str) -> Machine:
    """The publisher from the catalogue, one key, a client-credentials client, and its token."""
    now = dt.datetime.now(dt.UTC)
    signer = generate_signer(slug)
    async with runtime.write_sessions() as session, session.begin():
        await runtime.log.lock(session)
        await add_publisher(session, catalogue()[slug], now=now)
        await add_key(
            session, runtime.log, slug, signer.vkey, valid_from=now - dt.timedelta(hours=1)
        )
        made = await register_client(
            session,
            name=f"{slug} uploader",
            grant_types=["client_credentials"],
            redirect_uris=[],
            scopes=None,
            publisher=slug,
            public=False,
            auth_method="client_secret_basic",
            now=now,
        )
    assert made.secret is not None
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(made.client.client_id, made.secret),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "publish"
    return Machine(slug, signer, answer.json()["access_token"])


@pytest.fixture
async def dpc(runtime: Runtime, client: httpx.AsyncClient) -> Machine:
    return await register(runtime, client, "it-dpc")


@dataclass(frozen=True)
class State:
    ledger_size: int
    documents: int
    originals: frozenset[Path]


async def state(runtime: Runtime) -> State:
    async with runtime.sessions() as session:
        size = await runtime.log.size(session)
        count = await session.scalar(select(func.count()).select_from(Document))
    store = runtime.settings.data_dir / "documents"
    originals = frozenset(path for path in store.rglob("*") if path.is_file())
    return State(size, int(count or 0), originals)


@pytest.fixture
async def before(runtime: Runtime, dpc: Machine) -> AsyncIterator[State]:
    """The state once the publisher is registered; a refusal must leave it as it is."""
    taken = await state(runtime)
    yield taken
    assert await state(runtime) == taken, "a refused submission wrote something"


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    answer = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def submission(content: bytes, note: str, **extra: Any) -> dict[str, Any]:
    encoded = base64.b64encode(content).decode()
    return {"input": {"format": FORMAT, "content": encoded, "note": note, **extra}}


def refused_with(body: dict[str, Any], code: str) -> str:
    """The one error's message, after checking its code and that nothing came back."""
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code, error
    message: str = error["message"]
    return message


async def post_document(
    client: httpx.AsyncClient,
    content: Any,
    note: str | None,
    headers: dict[str, str],
    **params: str,
) -> httpx.Response:
    sent = {"Content-Type": "application/octet-stream", **headers}
    if note is not None:
        sent["Corroborate-Signed-Note"] = base64.b64encode(note.encode()).decode()
    return await client.post(
        "/documents", params={"format": FORMAT, **params}, content=content, headers=sent
    )


# --- the two ways in ------------------------------------------------------------------------


async def test_publisher_client_submits_through_the_mutation(
    client: httpx.AsyncClient, runtime: Runtime, dpc: Machine
) -> None:
    content = SAMPLE.read_bytes()
    note = dpc.sign(content)
    start = await state(runtime)
    body = await graphql(client, SUBMIT, submission(content, note), dpc.auth)
    assert "errors" not in body, body
    got = body["data"]["submitDocument"]
    assert got["status"] == "INGESTED"
    # the document leaf is the first appended after the publisher's key: index = size before
    assert got["ledgerIndex"] == start.ledger_size
    summary = got["summary"]
    assert summary["rowsRead"] == 40  # samples/README.md: records 1-40
    assert summary["new"] == summary["observationsParsed"] > 0
    assert summary["revised"] == summary["unchanged"] == summary["rowsRefused"] == 0
    assert summary["leavesAppended"] == 1 + summary["new"]
    assert summary["ledgerSize"] == start.ledger_size + summary["leavesAppended"]
    assert got["reconciliation"] is None  # no reconciliation has run: not set off
    document = got["document"]
    assert document["publisher"]["slug"] == "it-dpc"
    assert document["ledgerIndex"] == got["ledgerIndex"]
    assert (document["name"], document["size"]) == (NAME, len(content))

    # readable by anyone through GraphQL, and the original downloads byte for byte
    found = await graphql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Document { sha256 note } } }",
        {"id": document["id"]},
    )
    assert found["data"]["node"] == {"sha256": document["sha256"], "note": note}
    original = await client.get(document["downloadUrl"].removeprefix("http://testserver"))
    assert original.status_code == 200 and original.content == content
    after = await state(runtime)
    assert (after.ledger_size, after.documents) == (summary["ledgerSize"], start.documents + 1)

    # the same bytes again: UNCHANGED, the same document, nothing written
    again = await graphql(client, SUBMIT, submission(content, dpc.sign(content)), dpc.auth)
    repeated = again["data"]["submitDocument"]
    assert repeated["status"] == "UNCHANGED"
    assert repeated["ledgerIndex"] == got["ledgerIndex"]
    assert repeated["summary"]["leavesAppended"] == 0
    assert await state(runtime) == after


async def test_publisher_client_posts_a_large_document_and_it_is_reconciled(
    client: httpx.AsyncClient, runtime: Runtime, dpc: Machine
) -> None:
    small = SAMPLE.read_bytes()
    first = await graphql(client, SUBMIT, submission(small, dpc.sign(small)), dpc.auth)
    assert first["data"]["submitDocument"]["status"] == "INGESTED", first
    # once figures exist, every new document sets off a reconciliation, as `corroborate ingest`
    await reconcile(runtime.sessions, runtime.write_sessions, runtime.log, tolerances={})

    content = DEMO.read_bytes()
    assert len(content) > MAX_GRAPHQL_DOCUMENT_BYTES // 2  # a file the raw route is for
    start = await state(runtime)
    answer = await post_document(client, content, dpc.sign(content), dpc.auth)
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert got["status"] == "ingested"
    assert got["ledgerIndex"] == start.ledger_size
    assert got["sha256"] == got["summary"]["document"]["sha256"]
    assert answer.headers["location"] == got["downloadUrl"]
    summary = got["summary"]
    assert summary["observations"]["new"] > 0
    assert summary["observations"]["unchanged"] > 0  # the sample's 40 days are in the extract
    assert got["reconciliation"]["mode"] == "incremental"
    assert got["reconciliation"]["figures"] > 0

    found = await graphql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Document { ledgerIndex downloadUrl } } }",
        {"id": got["documentId"]},
    )
    assert found["data"]["node"]["ledgerIndex"] == got["ledgerIndex"]
    original = await client.get(got["downloadUrl"].removeprefix("http://testserver"))
    assert original.content == content

    again = await post_document(client, content, dpc.sign(content), dpc.auth)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "unchanged"
    assert again.json()["ledgerIndex"] == got["ledgerIndex"]
    assert again.json()["reconciliation"] is None


# --- who may not ----------------------------------------------------------------------------


async def test_anonymous_submission_is_unauthenticated(
    client: httpx.AsyncClient, dpc: Machine, before: State
) -> None:
    content = SAMPLE.read_bytes()
    body = await graphql(client, SUBMIT, submission(content, dpc.sign(content)))
    assert "signed-in" in refused_with(body, "UNAUTHENTICATED")
    answer = await post_document(client, content, dpc.sign(content), {})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "UNAUTHENTICATED"
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_bad_token_on_the_route_is_unauthenticated(
    client: httpx.AsyncClient, dpc: Machine, before: State
) -> None:
    content = SAMPLE.read_bytes()
    forged = dpc.token[:-4] + ("AAAA" if not dpc.token.endswith("AAAA") else "BBBB")
    answer = await post_document(
        client, content, dpc.sign(content), {"Authorization": f"Bearer {forged}"}
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "UNAUTHENTICATED"
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert forged not in answer.text


async def test_member_without_the_publisher_role_is_forbidden(
    client: httpx.AsyncClient, runtime: Runtime, dpc: Machine, before: State
) -> None:
    app = await make_client(runtime)
    assert (await sign_up(client)).status_code == 201
    pkce = Pkce.new()
    code = await authorization_code(client, app.client.client_id, pkce)
    issued = await exchange(client, app.client.client_id, code, pkce.verifier)
    assert issued.status_code == 200, issued.text
    member = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    content = SAMPLE.read_bytes()
    body = await graphql(client, SUBMIT, submission(content, dpc.sign(content)), member)
    assert "with the publisher role" in refused_with(body, "FORBIDDEN")
    answer = await post_document(client, content, dpc.sign(content), member)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "FORBIDDEN"
    assert "with the publisher role" in answer.json()["message"]


async def test_another_publishers_client_is_forbidden(
    client: httpx.AsyncClient, runtime: Runtime, dpc: Machine
) -> None:
    who = await register(runtime, client, "who")
    taken = await state(runtime)
    content = SAMPLE.read_bytes()
    note = dpc.sign(content)  # signed by it-dpc's own key: only the credentials are wrong
    body = await graphql(client, SUBMIT, submission(content, note, publisher="it-dpc"), who.auth)
    assert "'who'" in refused_with(body, "FORBIDDEN")
    answer = await post_document(client, content, note, who.auth, publisher="it-dpc")
    assert answer.status_code == 403, answer.text
    # without naming the publisher, the document is taken as who's: its statement says otherwise
    body = await graphql(client, SUBMIT, submission(content, note), who.auth)
    assert "names publisher 'it-dpc', not 'who'" in refused_with(body, "BAD_USER_INPUT")
    assert await state(runtime) == taken


# --- what is refused ------------------------------------------------------------------------


async def test_bad_signature_is_refused_and_nothing_written(
    client: httpx.AsyncClient, dpc: Machine, before: State
) -> None:
    content = SAMPLE.read_bytes()
    impostor = generate_signer("it-dpc")  # the same key name, another key
    note = dpc.sign(content, signer=impostor)
    body = await graphql(client, SUBMIT, submission(content, note), dpc.auth)
    assert "unknown key" in refused_with(body, "BAD_USER_INPUT")
    answer = await post_document(client, content, note, dpc.auth)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "BAD_USER_INPUT"
    assert "unknown key" in answer.json()["message"]
    # a signed statement that does not describe the bytes
    altered = content.replace(b"2020-02-24T18:00:00", b"2020-02-24T17:00:00", 1)
    body = await graphql(client, SUBMIT, submission(altered, dpc.sign(content)), dpc.auth)
    assert "does not match its signed statement" in refused_with(body, "BAD_USER_INPUT")


async def test_unknown_format_is_refused(
    client: httpx.AsyncClient, dpc: Machine, before: State
) -> None:
    content = SAMPLE.read_bytes()
    variables = submission(content, dpc.sign(content))
    variables["input"]["format"] = "dpc-ita-regioni"
    message = refused_with(await graphql(client, SUBMIT, variables, dpc.auth), "BAD_USER_INPUT")
    assert "names format 'dpc-ita-andamento-nazionale', not 'dpc-ita-regioni'" in message


async def test_bad_base64_is_refused(
    client: httpx.AsyncClient, dpc: Machine, before: State
) -> None:
    content = SAMPLE.read_bytes()
    variables = submission(content, dpc.sign(content))
    encoded = variables["input"]["content"]
    variables["input"]["content"] = encoded[:100] + "\n" + encoded[100:]  # a wrapped line
    message = refused_with(await graphql(client, SUBMIT, variables, dpc.auth), "BAD_USER_INPUT")
    assert "standard base64" in message and "'\\n' at character 100" in message
    variables["input"]["content"] = encoded.rstrip("=")[:-1]
    message = refused_with(await graphql(client, SUBMIT, variables, dpc.auth), "BAD_USER_INPUT")
    assert "not a multiple of 4" in message
    answer = await client.post(
        "/documents",
        params={"format": FORMAT},
        content=content,
        headers={
            **dpc.auth,
            "Content-Type": "application/octet-stream",
            "Corroborate-Signed-Note": "not base64!",
        },
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "BAD_USER_INPUT"
    assert "Corroborate-Signed-Note" in answer.json()["message"]


async def test_document_over_the_mutation_cap_is_refused(
    client: httpx.AsyncClient, dpc: Machine, before: State
) -> None:
    content = WHO_SAMPLE.read_bytes()
    assert len(content) > MAX_GRAPHQL_DOCUMENT_BYTES
    body = await graphql(client, SUBMIT, submission(content, dpc.sign(content)), dpc.auth)
    message = refused_with(body, "PAYLOAD_TOO_LARGE")
    assert f"at most {MAX_GRAPHQL_DOCUMENT_BYTES:,} bytes" in message
    assert "POST /documents" in message


async def test_body_over_the_route_cap_is_refused(
    client: httpx.AsyncClient, dpc: Machine, before: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = SAMPLE.read_bytes()
    monkeypatch.setattr(routes, "MAX_UPLOAD_BYTES", len(content) - 1)
    declared = await post_document(client, content, dpc.sign(content), dpc.auth)
    assert declared.status_code == 413, declared.text
    assert declared.json()["error"] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap is counted
        for start in range(0, len(content), 1000):
            yield content[start : start + 1000]

    streamed = await post_document(client, chunks(), dpc.sign(content), dpc.auth)
    assert streamed.status_code == 413, streamed.text
    assert f"more than {len(content) - 1:,} bytes" in streamed.json()["message"]


async def test_route_needs_its_parameters(
    client: httpx.AsyncClient, dpc: Machine, before: State
) -> None:
    content = SAMPLE.read_bytes()
    no_note = await post_document(client, content, None, dpc.auth)
    assert no_note.status_code == 400 and "Corroborate-Signed-Note" in no_note.json()["message"]
    as_form = await client.post(
        "/documents",
        params={"format": FORMAT},
        content=content,
        headers={**dpc.auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert as_form.status_code == 415, as_form.text
    no_format = await client.post(
        "/documents",
        content=content,
        headers={**dpc.auth, "Content-Type": "application/octet-stream"},
    )
    assert no_format.status_code == 400 and "`format`" in no_format.json()["message"]


# --- a format the publisher does not declare (issue 15, item 1) ----------------------------------

WHO_FORMAT = "who-covid-19-global-data"


async def test_a_format_the_publisher_does_not_declare_is_refused_by_both_doors(
    runtime: Runtime, client: httpx.AsyncClient, dpc: Machine
) -> None:
    """DPC's key signing WHO's file (a valid signature, a valid format, but not DPC's): refused by
    ``submitDocument`` and ``POST /documents`` alike, naming DPC's formats, and nothing is
    written; once an operator widens DPC's formats (a ``publisher`` leaf) it goes in."""
    from ingest.documents import sign_document
    from ingest.publishers import add_formats

    content = b"".join(WHO_SAMPLE.read_bytes().splitlines(keepends=True)[:200])
    note = sign_document(
        content, publisher="it-dpc", format=WHO_FORMAT, name="who.csv", signer=dpc.signer
    ).decode()
    taken = await state(runtime)
    variables = submission(content, note)
    variables["input"]["format"] = WHO_FORMAT
    message = refused_with(await graphql(client, SUBMIT, variables, dpc.auth), "BAD_USER_INPUT")
    assert f"publisher 'it-dpc' does not publish format '{WHO_FORMAT}'" in message
    assert "its record declares dpc-ita-andamento-nazionale" in message
    answer = await post_document(client, content, note, dpc.auth, format=WHO_FORMAT)
    assert answer.status_code == 400, answer.text
    assert "does not publish format" in answer.json()["message"]
    assert await state(runtime) == taken, "a refused submission wrote something"

    async with runtime.write_sessions() as session, session.begin():
        _publisher, added, index = await add_formats(
            session, runtime.log, "it-dpc", [WHO_FORMAT], reason="test: it republishes WHO's file"
        )
    assert added == [WHO_FORMAT] and index == taken.ledger_size
    answer = await post_document(client, content, note, dpc.auth, format=WHO_FORMAT)
    assert answer.status_code == 201, answer.text
