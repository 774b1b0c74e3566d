"""GraphQL over HTTP (the GraphQL-over-HTTP specification), as one Starlette endpoint.

strawberry's view answers request errors with 200 and knows no persisted queries, body cap or
cost headers, so the HTTP side is ours and execution is strawberry's (``Schema.execute``, with
the limits of ``api/limits.py`` as schema extensions):

* POST (``application/json`` body) and GET (query parameters; queries only — a mutation over
  GET is 405). A batch (a JSON array) may hold up to ``max_operations`` operations.
* The response is ``application/graphql-response+json`` when the client accepts it, and then a
  request error — bad JSON, no query, a parse or validation error, a bad variable, a refused
  cost — is a 4xx with no ``data``; ``application/json`` (older clients, ``*/*`` or no Accept)
  keeps the 200 convention. RATE_LIMITED is 429 either way, with ``Retry-After``.
* Every response carries ``extensions.cost`` and the ``x-ratelimit-*`` headers, with the
  caller's real budget even when the request was refused before it ran (nothing charged then).
* Anonymous GETs are cacheable (``Cache-Control: public``, an ETag of the data, 304 on
  ``If-None-Match``); a request with credentials, or selecting a per-caller field
  (``api/cache_policy.py``), gets ``private, no-store``.
* The results of anonymous queries without per-caller fields are kept while the data is
  unchanged and served again without execution, charged the same cost (``api/response_cache.py``).
* JSON nested deeper than ``Limits.max_json_depth`` (body, or a GET's ``variables`` and
  ``extensions``) is a 400 before it is parsed; a token in the query string or a cookie is a
  400 (tokens come only in the ``Authorization`` header).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api.auth.identity import Identity, TokenError
from api.auth.resource import misplaced_token, misplaced_token_message
from api.context import Context
from api.errors import ApiError, ErrorCode, code_of, error_body
from api.limits import Budgets, Limits, charge_budget, json_too_deep, report_budget
from api.persisted import PersistedQueries, requested_hash
from api.response_cache import DataVersion, Entry, ResponseCache, Version, cache_key, encode_data
from ledger.times import rfc3339_epoch
from service.runtime import Runtime
from web.graphiql import graphiql_page

log = logging.getLogger("corroborate.graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_STATUS_OF = {
    ErrorCode.PAYLOAD_TOO_LARGE.value: 413,
    ErrorCode.RATE_LIMITED.value: 429,
    ErrorCode.TIMEOUT.value: 504,
}


class RequestError(Exception):
    """The HTTP request is refused before any GraphQL work: a status and one error."""

    def __init__(
        self, status: int, message: str, code: ErrorCode, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errors": [error_body(message, code)]}
        self.headers = headers or {}


@dataclass
class Operation:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    persisted: str | None = None  # the APQ hash, when one was given


@dataclass
class Outcome:
    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: ``data`` already encoded (a cached result) and its ETag; ``body`` has no ``data`` then
    data: Entry | None = None
    #: the answer depends on the caller (a token, or a per-caller field): never shared
    private: bool = False


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when none we serve is acceptable."""
    if not accept or not accept.strip():
        return JSON
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, media))
    for _, _, media in sorted(ranked):
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON, "application/*", "*/*"):
            return JSON
    return None


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and "text/html" in accept
        and "query" not in request.query_params
        and "extensions" not in request.query_params
    )


class GraphQLHTTP:
    """The ``/graphql`` endpoint for GET and POST (websockets are strawberry's, see app.py)."""

    def __init__(
        self,
        schema: strawberry.Schema,
        limits: Limits,
        persisted: PersistedQueries,
        budgets: Budgets,
        cache: ResponseCache,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.persisted = persisted
        self.budgets = budgets
        self.cache = cache
        self._version: DataVersion | None = None

    def close(self) -> None:
        if self._version is not None:
            self._version.close()
            self._version = None

    async def _data_version(self, runtime: Runtime) -> Version:
        if self._version is None or self._version.runtime is not runtime:
            self.close()
            self._version = DataVersion(runtime)
        return await self._version.read()

    async def handle(self, request: Request) -> Response:
        if _wants_ide(request):
            return graphiql_page(request)  # offline GraphiQL: web/graphiql.py
        media = negotiate(request.headers.get("accept"))
        identity: Identity | None = None
        try:
            if media is None:
                raise RequestError(
                    406,
                    f"expected an Accept header allowing {GRAPHQL_RESPONSE} or {JSON}, got "
                    f"{request.headers.get('accept', '')[:100]!r}",
                    ErrorCode.BAD_REQUEST,
                )
            where = misplaced_token(request.query_params, request.cookies)
            if where is not None:
                raise RequestError(400, misplaced_token_message(where), ErrorCode.BAD_REQUEST)
            identity = await self._identify(request)
            payload = await self._payload(request)
            outcome = await self._run(request, media, payload, identity)
        except RequestError as refused:
            # refused before any operation ran: the caller's budget is reported all the same
            context = self._context(request, identity)
            report_budget(self.limits, self.budgets, context)
            outcome = self._outcome(
                media or JSON,
                ExecutionResult(data=None, errors=None),
                context,
                refused=refused,
            )
        return self._respond(request, media or JSON, outcome)

    # -- reading the request ---------------------------------------------------------------

    async def _payload(self, request: Request) -> Any:
        if request.method == "GET":
            query = request.query_params
            operation: dict[str, Any] = {}
            for name in ("query", "operationName"):
                if name in query:
                    operation[name] = query[name]
            for name in ("variables", "extensions"):
                if name in query:
                    self._check_nesting(query[name].encode(), f"the `{name}` parameter")
                    try:
                        operation[name] = json.loads(query[name])
                    except json.JSONDecodeError as exc:
                        raise RequestError(
                            400,
                            f"expected the `{name}` parameter to be JSON, got a parse error: {exc}",
                            ErrorCode.BAD_REQUEST,
                        ) from None
            return operation
        content_type = request.headers.get("content-type", "")
        media, *params = [p.strip() for p in content_type.split(";")]
        if media.lower() != JSON:
            raise RequestError(
                415,
                f"expected Content-Type {JSON}, got {content_type[:100]!r}",
                ErrorCode.BAD_REQUEST,
            )
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
                raise RequestError(
                    415,
                    f"expected the body in utf-8, got charset {value.strip()!r}",
                    ErrorCode.BAD_REQUEST,
                )
        body = await self._body(request)
        self._check_nesting(body, "the body")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestError(
                400, f"expected a JSON body, got a parse error: {exc}", ErrorCode.BAD_REQUEST
            ) from None

    def _check_nesting(self, raw: bytes, where: str) -> None:
        limit = self.limits.max_json_depth
        if json_too_deep(raw, limit):
            raise RequestError(
                400,
                f"expected JSON nested at most {limit} levels deep in {where}, got deeper "
                "(arrays and objects inside one another)",
                ErrorCode.BAD_REQUEST,
            )

    async def _body(self, request: Request) -> bytes:
        cap = self.limits.max_body_bytes
        declared = request.headers.get("content-length")
        too_large = RequestError(
            413, f"expected a body of at most {cap} bytes", ErrorCode.PAYLOAD_TOO_LARGE
        )
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _operations(self, payload: Any) -> list[Operation] | Operation:
        if isinstance(payload, list):
            if not payload:
                raise RequestError(
                    400,
                    "expected at least one operation in the batch, got none",
                    ErrorCode.BAD_REQUEST,
                )
            if len(payload) > self.limits.max_operations:
                raise RequestError(
                    400,
                    f"expected at most {self.limits.max_operations} operations in a batch, "
                    f"got {len(payload)}",
                    ErrorCode.BAD_REQUEST,
                )
            return [self._operation(item) for item in payload]
        return self._operation(payload)

    @staticmethod
    def _operation(item: Any) -> Operation:
        if not isinstance(item, dict):
            raise RequestError(
                400,
                f"expected a JSON object with a `query`, got {type(item).__name__}",
                ErrorCode.BAD_REQUEST,
            )
        checks = (
            ("query", str),
            ("operationName", str),
            ("variables", dict),
            ("extensions", dict),
        )
        for name, kind in checks:
            value = item.get(name)
            if value is not None and not isinstance(value, kind):
                expected = "a string" if kind is str else "an object"
                raise RequestError(
                    400,
                    f"expected `{name}` to be {expected} or null, got {json.dumps(value)[:80]}",
                    ErrorCode.BAD_REQUEST,
                )
        return Operation(
            query=item.get("query"),
            variables=item.get("variables"),
            operation_name=item.get("operationName"),
            extensions=item.get("extensions"),
        )

    # -- running it ------------------------------------------------------------------------

    @staticmethod
    async def _identify(request: Request) -> Identity | None:
        """The caller a bearer token proves (api/auth/resource.py); 401 for a bad token."""
        try:
            identity: Identity | None = await request.app.state.authenticator.identify(
                request.headers.get("authorization")
            )
        except TokenError as refused:
            raise RequestError(
                401,
                str(refused),
                ErrorCode.UNAUTHENTICATED,
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        return identity

    async def _run(
        self, request: Request, media: str, payload: Any, identity: Identity | None
    ) -> Outcome:
        operations = self._operations(payload)
        if isinstance(operations, list):
            outcomes = [await self._single(request, media, op, identity) for op in operations]
            merged = Outcome({"batch": [_with_data(o) for o in outcomes]})
            for outcome in outcomes:
                merged.headers.update(outcome.headers)
                merged.private = merged.private or outcome.private
            return merged
        return await self._single(request, media, operations, identity)

    async def _single(
        self, request: Request, media: str, operation: Operation, identity: Identity | None
    ) -> Outcome:
        runtime = request.app.state.runtime
        try:
            operation.persisted = requested_hash(operation.extensions)
            if operation.persisted is not None:
                if operation.query is None:
                    operation.query = await self.persisted.lookup(runtime, operation.persisted)
                else:
                    self.persisted.check(operation.persisted, operation.query)
        except ApiError as refused:
            return self._refusal(media, refused, self._context(request, identity))
        if not operation.query:
            raise RequestError(
                400,
                "expected a GraphQL document in `query` (or a registered persisted query), "
                "got none",
                ErrorCode.BAD_REQUEST,
            )
        context = self._context(request, identity)
        key: str | None = None
        version: Version = ()
        if self.cache.enabled and not context.authenticated:
            key = cache_key(operation.query, operation.operation_name, operation.variables)
            version = await self._data_version(runtime)  # before execution: response_cache.py
            entry = self.cache.get(key, version)
            if entry is not None:
                return await self._cached(media, operation, entry, context)
        allowed = {OperationType.QUERY}
        if request.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                result = await self.schema.execute(
                    operation.query,
                    variable_values=operation.variables,
                    context_value=context,
                    operation_name=operation.operation_name,
                    allowed_operation_types=allowed,
                    operation_extensions=operation.extensions,
                )
        except InvalidOperationTypeError as exc:
            if request.method == "GET" and exc.operation_type == OperationType.MUTATION:
                raise RequestError(
                    405,
                    "expected a query over GET, got a mutation: send mutations with POST",
                    ErrorCode.OPERATION_NOT_ALLOWED,
                    {"Allow": "POST"},
                ) from None
            raise RequestError(
                400,
                f"expected a query or mutation, got a {exc.operation_type.value}: "
                "subscriptions are served over WebSocket (graphql-transport-ws) at /graphql",
                ErrorCode.OPERATION_NOT_ALLOWED,
            ) from None
        except CannotGetOperationTypeError as exc:
            raise RequestError(
                400,
                f"expected one operation to run: {exc.as_http_error_reason()}",
                ErrorCode.BAD_REQUEST,
            ) from None
        except MissingQueryError:
            raise RequestError(
                400, "expected a GraphQL document in `query`, got none", ErrorCode.BAD_REQUEST
            ) from None
        except TimeoutError:
            log.warning("execution timed out", extra={"timeout_s": self.limits.timeout_s})
            timed_out = ApiError(
                f"expected execution within {self.limits.timeout_s:g} s; the query took longer "
                "and was stopped",
                ErrorCode.TIMEOUT,
            )
            return self._refusal(media, timed_out, context)
        if operation.persisted is not None and _validated(result):
            await self.persisted.register(runtime, operation.persisted, operation.query)
        if (
            key is not None
            and not result.errors
            and result.data is not None
            and context.operation_type is OperationType.QUERY
            and not context.uncacheable
        ):
            entry = self.cache.put(key, version, context.charge.cost, result.data)
            outcome = self._outcome(media, result, context, entry)
        else:
            outcome = self._outcome(media, result, context)
        if key is not None:
            outcome.headers["x-response-cache"] = "miss"
        return outcome

    async def _cached(
        self, media: str, operation: Operation, entry: Entry, context: Context
    ) -> Outcome:
        """A stored result, charged as if it had run (its cost is the same)."""
        refusal = charge_budget(self.limits, self.budgets, context, entry.cost)
        if refusal is not None:
            return self._refusal(media, refusal, context)
        if operation.persisted is not None:
            assert operation.query is not None
            await self.persisted.register(context.runtime, operation.persisted, operation.query)
        outcome = self._outcome(media, ExecutionResult(data=None, errors=None), context, entry)
        outcome.headers["x-response-cache"] = "hit"
        return outcome

    @staticmethod
    def _context(request: Request, identity: Identity | None) -> Context:
        host = request.client.host if request.client else "unknown"
        # a budget per verified subject; anonymous callers share their address's
        return Context(
            runtime=request.app.state.runtime,
            request=request,
            response=None,
            client=identity.budget_key if identity is not None else f"ip:{host}",
            authenticated=identity is not None,
            identity=identity,
        )

    def _refusal(self, media: str, error: ApiError, context: Context) -> Outcome:
        result = ExecutionResult(data=None, errors=[error])
        return self._outcome(media, result, context)

    def _outcome(
        self,
        media: str,
        result: ExecutionResult,
        context: Context,
        entry: Entry | None = None,
        refused: RequestError | None = None,
    ) -> Outcome:
        """The response for ``result``; with ``entry``, its data is ``entry``'s, encoded; with
        ``refused``, the HTTP refusal's status, error and headers."""
        errors = result.errors or []
        body: dict[str, Any] = {}
        request_error = result.data is None and bool(errors) and all(e.path is None for e in errors)
        if not request_error and entry is None and refused is None:
            body["data"] = result.data
        if errors:
            body["errors"] = [_formatted(e) for e in errors]
        if refused is not None:
            body["errors"] = refused.body["errors"]
        charge = context.charge
        if not charge.limit:  # refused before the cost analysis: nothing charged, but reported
            report_budget(self.limits, self.budgets, context)
        body["extensions"] = {
            **(result.extensions or {}),
            "cost": {
                "requestedQueryCost": charge.cost,
                "maxQueryCost": self.limits.max_query_cost,
                "limit": charge.limit,
                "remaining": charge.remaining,
                "resetAt": rfc3339_epoch(charge.reset_at) if charge.reset_at else None,
            },
        }
        codes = {code_of(e) for e in errors}
        status = 200
        special = [_STATUS_OF[c] for c in codes if c in _STATUS_OF]
        if ErrorCode.RATE_LIMITED.value in codes:
            status = 429
        elif request_error and media == GRAPHQL_RESPONSE:
            status = special[0] if special else 400
        if refused is not None:
            status = refused.status
        headers = {}
        if charge.limit:
            headers = {
                "x-ratelimit-limit": str(charge.limit),
                "x-ratelimit-remaining": str(charge.remaining),
                "x-ratelimit-used": str(charge.cost),
                "x-ratelimit-reset": str(math.ceil(charge.reset_at)),
            }
            if status == 429:
                headers["retry-after"] = str(max(1, math.ceil(charge.reset_at - _now())))
        if refused is not None:
            headers.update(refused.headers)
        return Outcome(
            body, status, headers, entry, private=context.uncacheable or context.authenticated
        )

    # -- writing the response --------------------------------------------------------------

    def _respond(self, request: Request, media: str, outcome: Outcome) -> Response:
        data = outcome.data
        if data is None and "data" in outcome.body and "batch" not in outcome.body:
            data_json, etag = encode_data(outcome.body.pop("data"))
            data = Entry(version=(), cost=0, data_json=data_json, etag=etag)
        rest = json.dumps(
            outcome.body.get("batch", outcome.body), separators=(",", ":"), ensure_ascii=False
        ).encode()
        # the data first, as the specification's examples have it; the rest is never empty
        encoded = rest if data is None else b'{"data":' + data.data_json + b"," + rest[1:]
        headers = {**outcome.headers, "vary": "Accept, Authorization"}
        private = outcome.private or "authorization" in request.headers
        cacheable = (
            request.method == "GET"
            and outcome.status == 200
            and "errors" not in outcome.body
            and data is not None
        )
        if private:
            headers["cache-control"] = "private, no-store"
        elif cacheable:
            assert data is not None
            headers["cache-control"] = f"public, max-age={self.limits.public_max_age_s}"
            headers["etag"] = data.etag
            if data.etag in _tags(request.headers.get("if-none-match")):
                return Response(status_code=304, headers=headers)
        else:
            headers["cache-control"] = "no-store"
        return Response(
            encoded,
            status_code=outcome.status,
            media_type=f"{media}; charset=utf-8",
            headers=headers,
        )


def _with_data(outcome: Outcome) -> dict[str, Any]:
    """An outcome's body with its encoded data decoded again (in a batch)."""
    if outcome.data is None:
        return outcome.body
    return {"data": json.loads(outcome.data.data_json), **outcome.body}


def _validated(result: ExecutionResult) -> bool:
    """Whether the document parsed and validated (worth registering as a persisted query)."""
    return not any(
        code_of(e)
        in (ErrorCode.GRAPHQL_PARSE_FAILED.value, ErrorCode.GRAPHQL_VALIDATION_FAILED.value)
        for e in result.errors or []
    )


def _formatted(error: GraphQLError) -> dict[str, Any]:
    return dict(error.formatted)


def _tags(header: str | None) -> set[str]:
    if not header:
        return set()
    tags = {t.strip() for t in header.split(",")}
    # weak comparison (RFC 9110 §13.1.2): W/"x" matches "x"
    return tags | {f"W/{t}" for t in tags if not t.startswith("W/")}


def _now() -> float:
    return time.time()
