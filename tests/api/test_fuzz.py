"""No input reaches a 500: generated operations and requests against a real server.

Operations are built from the schema itself — every root query and mutation, with arguments of
the right type but odd values (empty and malformed global IDs, IDs of the wrong type, Int
literals where IDs are expected, huge, negative and zero numbers, long and unusual text) and
sometimes of the wrong type — and sent anonymous and signed in with several roles; raw requests
(arbitrary JSON bodies, query text, GET parameters) too. The rule kept: no 5xx, no
INTERNAL_SERVER_ERROR, no traceback in the server's log. A new field is fuzzed as soon as it is
in the schema."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from api.schema import schema
from service.runtime import Runtime
from tests.auth.test_resource import ISSUER, mint
from tests.conftest import TEST_ORIGIN
from tests.helpers import CORROBORATE, ROOT, cli_env, free_port

GRAPHQL = schema._schema
ODD_IDS = [
    "",
    " ",
    "x",
    "0",
    "-1",
    "null",
    "TWVtYmVyOg==",  # Member: (no key)
    "OkZvbw==",  # :Foo
    to_base64("Member", "1"),
    to_base64("Member", "not-a-key"),
    to_base64("Challenge", "abc"),
    to_base64("Challenge", "99999999999999999999999"),
    to_base64("AttestedFigure", "ITA/nope/2020-01-01"),
    to_base64("FigureVersion", "1e9"),
    to_base64("Observation", "-5"),
    to_base64("Document", "1.5"),
    to_base64("LedgerEntry", "١٢"),  # Arabic-Indic digits: isdigit() but not int() in all forms
    to_base64("Nope", "1"),
    to_base64("Query", "1"),
    "%%%",
    "💥" * 3,
    "A" * 5000,
]
# issue 15, item 9: these gave INTERNAL_SERVER_ERROR (the ID was decoded before the caller)
SUSPEND_EMPTY = 'mutation { suspendMember(member: "", reason: "x") { id } }'
REINSTATE_INT = "mutation { reinstateMember(member: 5) { id } }"
ODD_TEXT = st.one_of(
    st.sampled_from([*ODD_IDS, "ITA", "who", "2020-02-30", "ITA/cases_cumulative/2020-06-01"]),
    st.text(max_size=40),
)
ODD_INT = st.one_of(
    st.sampled_from([0, -1, 1, 2, 100, 101, 2**31 - 1, -(2**31)]),
    st.integers(-(2**31), 2**31 - 1),
)
ODD_FLOAT = st.one_of(
    st.sampled_from([0.0, -1.0, 1e308, -1e308, 5e-324]),
    st.floats(allow_nan=False, allow_infinity=False),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def value_for(kind: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """A JSON variable value for ``kind``: right type and odd value, sometimes wrong type."""
    if isinstance(kind, GraphQLNonNull):
        return value_for(kind.of_type, depth)
    nullable = st.none()
    if isinstance(kind, GraphQLList):
        return nullable | st.lists(value_for(kind.of_type, depth + 1), max_size=3)
    if isinstance(kind, GraphQLEnumType):
        return nullable | st.sampled_from(sorted(kind.values)) | st.just("NOT_A_VALUE")
    if isinstance(kind, GraphQLInputObjectType):
        if depth > 3:
            return nullable
        fields = {name: value_for(f.type, depth + 1) for name, f in kind.fields.items()}
        return nullable | st.fixed_dictionaries({}, optional=fields) | JSON_VALUES
    assert isinstance(kind, GraphQLScalarType)
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "ID": ODD_TEXT | ODD_INT,
        "String": ODD_TEXT,
        "Int": ODD_INT,
        "Float": ODD_FLOAT | ODD_INT,
        "Boolean": st.booleans(),
        "Date": st.sampled_from(["2020-06-01", "2020-02-30", "0001-01-01", "9999-12-31", "x"]),
        "DateTime": st.sampled_from(
            ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "x"]
        ),
    }
    return nullable | by_name.get(kind.name, ODD_TEXT) | JSON_VALUES


def selection(kind: GraphQLNamedType, depth: int = 0) -> str:
    """``__typename`` and the leaf fields without required arguments, one level deeper for
    objects (connections' ``nodes`` included), so that field permissions are reached too."""
    if is_leaf_type(kind):
        return ""
    if isinstance(kind, GraphQLUnionType):
        return "{ __typename }"
    assert isinstance(kind, (GraphQLObjectType, GraphQLInterfaceType))
    parts = ["__typename"]
    for name, field in kind.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name)
        elif depth < 1:
            args = "(first: 2)" if "first" in field.args else ""
            parts.append(f"{name}{args} {selection(named, depth + 1)}")
    if isinstance(kind, GraphQLInterfaceType):
        for possible in GRAPHQL.get_possible_types(kind):
            parts.append(f"... on {possible.name} {selection(possible, depth + 1)}")
    return "{ " + " ".join(parts) + " }"


@st.composite
def operations(draw: st.DrawFn) -> dict[str, Any]:
    """One root field of Query or Mutation with its arguments as variables."""
    root_name = draw(st.sampled_from(["query", "mutation"]))
    root = GRAPHQL.query_type if root_name == "query" else GRAPHQL.mutation_type
    assert root is not None
    name = draw(st.sampled_from(sorted(root.fields)))
    field: GraphQLField = root.fields[name]
    declared, passed, variables = [], [], {}
    for arg_name, arg in field.args.items():
        if not isinstance(arg.type, GraphQLNonNull) and draw(st.booleans()):
            continue
        value = draw(value_for(arg.type))
        if draw(st.integers(0, 9)) == 0 and isinstance(value, (int, str)):
            passed.append(f"{arg_name}: {json.dumps(value)}")  # an inline literal
            continue
        declared.append(f"${arg_name}: {arg.type}")
        passed.append(f"{arg_name}: ${arg_name}")
        variables[arg_name] = value
    head = f"{root_name}({', '.join(declared)})" if declared else root_name
    args = f"({', '.join(passed)})" if passed else ""
    query = f"{head} {{ {name}{args} {selection(get_named_type(field.type))} }}"
    return {"query": query, "variables": variables}


@contextmanager
def server(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """``corroborate serve`` as a real process, its log to a file (read after)."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [CORROBORATE, "serve"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


def check(response: httpx.Response, sent: object) -> None:
    assert response.status_code < 500, (sent, response.status_code, response.text[:300])
    if response.headers.get("content-type", "").startswith("application/"):
        assert "INTERNAL_SERVER_ERROR" not in response.text, (sent, response.text[:500])


async def test_no_input_reaches_a_500(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    tokens = {
        "anonymous": None,
        "member": await mint(runtime, subject="account:1", roles=["member"], scope="member"),
        "moderator": await mint(
            runtime,
            subject="account:2",
            roles=["member", "moderator"],
            scope="member moderate",
        ),
        "admin publisher": await mint(
            runtime,
            subject="account:3",
            roles=["member", "moderator", "admin", "publisher"],
            scope="member moderate admin publish",
            publisher="who",
        ),
    }
    port = free_port()
    env = cli_env(
        database_url=db_url,
        data_dir=str(runtime.settings.data_dir),
        log_origin=TEST_ORIGIN,
        port=str(port),
        auth_issuer=ISSUER,
        api_budget_anonymous="100000000",
        api_budget_authenticated="100000000",
    )
    log = tmp_path / "server.log"
    with server(env, port, log) as base, httpx.Client(base_url=base, timeout=60) as http:

        @settings(
            max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(operation=operations(), role=st.sampled_from(sorted(tokens)))
        @example(operation={"query": SUSPEND_EMPTY}, role="anonymous")
        @example(operation={"query": SUSPEND_EMPTY}, role="member")
        @example(operation={"query": REINSTATE_INT}, role="anonymous")
        @example(operation={"query": REINSTATE_INT}, role="moderator")
        @example(
            operation={"query": '{ node(id: 12) { id } nodes(ids: ["", 3]) { id } }'},
            role="anonymous",
        )
        def operation_is_answered(operation: dict[str, Any], role: str) -> None:
            headers = {"accept": "application/graphql-response+json"}
            token = tokens[role]
            if token is not None:
                headers["authorization"] = f"Bearer {token}"
            check(http.post("/graphql", json=operation, headers=headers), (role, operation))

        for _ in tokens:  # about 120 operations for each caller
            operation_is_answered()

        @settings(
            max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(
            body=JSON_VALUES
            | st.fixed_dictionaries(
                {"query": st.text()},
                optional={
                    "variables": JSON_VALUES,
                    "extensions": JSON_VALUES,
                    "operationName": JSON_VALUES,
                },
            ),
            params=st.dictionaries(
                st.sampled_from(["query", "variables", "extensions", "operationName"]),
                st.text(max_size=60),
            ),
        )
        def raw_request_is_answered(body: Any, params: dict[str, str]) -> None:
            check(
                http.post(
                    "/graphql",
                    content=json.dumps(body),
                    headers={"content-type": "application/json"},
                ),
                body,
            )
            check(http.get("/graphql", params=params), params)

        raw_request_is_answered()
    logged = log.read_text()
    assert "Traceback" not in logged and "unexpected error" not in logged, logged[-3000:]
