"""The Starlette application: GraphQL, health, metrics and the ledger's tile read path."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from api.auth.identity import TokenError
from api.auth.resource import Authenticator
from api.auth.routes import routes as auth_routes
from api.context import Context
from api.events import EventHub
from api.ledger.routes import routes as ledger_routes
from api.limits import Budgets, Limits, json_too_deep, limits_from
from api.logs import configure_logging
from api.middleware import RequestContextMiddleware, RequestMetrics
from api.persisted import PersistedQueries
from api.response_cache import ResponseCache
from api.schema import create_schema
from api.sources.routes import routes as source_routes
from api.view import GraphQLHTTP
from service import migrations
from service.runtime import Runtime, StartupError, check_database, open_runtime
from service.settings import Settings
from web.graphiql import static_files


class CorroborateGraphQL(GraphQL[Context, None]):
    #: how deeply a websocket message's JSON may nest (``Limits.max_json_depth``)
    max_json_depth = Limits().max_json_depth

    def decode_json(self, data: str | bytes) -> object:
        """A websocket message's JSON, refused (4400, as any non-JSON message) when it nests
        deeper than the limit: Python's parser would exhaust the stack first."""
        raw = data.encode() if isinstance(data, str) else data
        if json_too_deep(raw, self.max_json_depth):
            raise json.JSONDecodeError(
                f"expected JSON nested at most {self.max_json_depth} levels deep", "", 0
            )
        return json.loads(raw)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Sign a websocket in with the ``authorization`` of its ``connection_init`` payload
        (browsers cannot set headers on a websocket): a bad token closes it with 4403."""
        params = context.connection_params or {}
        header = params.get("authorization", params.get("Authorization"))
        if header is None:
            return UNSET
        if not isinstance(header, str):
            raise ConnectionRejectionError({"message": "expected authorization: Bearer <token>"})
        try:
            identity = await context.request.app.state.authenticator.identify(header)
        except TokenError:
            raise ConnectionRejectionError({"message": "invalid token"}) from None
        if identity is not None:
            context.identity = identity
            context.authenticated = True
            context.client = identity.budget_key
        return UNSET

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            runtime=request.app.state.runtime,
            request=request,
            response=response if isinstance(response, Response) else None,
            client=f"ip:{request.client.host if request.client else 'unknown'}",
        )


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        await check_database(runtime.engine, runtime.settings.database_url)
    except StartupError as exc:
        return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
    return JSONResponse(
        {"status": "ready", "migration": migrations.head_revision(runtime.settings.database_url)}
    )


async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        request.app.state.ledger_size.set(await runtime.log.size(session))
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Starlette:
    """The ASGI app. Give ``runtime`` to serve an already-open one (tests); else it opens at start."""
    if settings is None and runtime is None:
        raise ValueError("create_app needs settings or a runtime")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = runtime is None
        current = runtime if runtime is not None else await open_runtime(settings)  # type: ignore[arg-type]
        if own:
            app.state.runtime = current
            app.state.authenticator = Authenticator(current)
        current.sequencer.start()
        await app.state.events.start()
        try:
            yield
        finally:
            await app.state.events.close()
            http.close()
            if own:
                await current.close()

    registry = CollectorRegistry()
    configured: Settings = settings if settings is not None else runtime.settings  # type: ignore[union-attr]
    limits = limits_from(configured)
    budgets = Budgets(limits.window_s)
    schema = create_schema(limits, budgets)
    # websockets: graphql-transport-ws only (the legacy graphql-ws protocol is refused with 4406)
    graphql = CorroborateGraphQL(
        schema,
        graphql_ide="graphiql",
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=configured.ws_init_timeout_s),
        max_subscriptions_per_connection=configured.ws_max_subscriptions,
    )
    graphql.max_json_depth = limits.max_json_depth
    http = GraphQLHTTP(
        schema, limits, PersistedQueries(), budgets, ResponseCache(limits.response_cache_bytes)
    )
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *ledger_routes,
            *source_routes,
            *auth_routes,  # the OAuth 2.0 / OpenID Connect authorization server, sign-up
            Route("/graphql", http.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Mount("/static", app=static_files(), name="static"),  # web/static: GraphiQL's files
        ],
        middleware=[Middleware(RequestContextMiddleware, metrics=RequestMetrics(registry))],
        lifespan=lifespan,
    )
    app.state.registry = registry
    app.state.events = EventHub(configured.database_url)  # started by the lifespan or on first use
    app.state.ledger_size = Gauge(
        "corroborate_ledger_size", "Leaves in the transparency log.", registry=registry
    )
    if runtime is not None:
        app.state.runtime = runtime
        app.state.authenticator = Authenticator(runtime)
    return app


def create_app_from_environment() -> Starlette:
    """The app for each of several uvicorn worker processes: settings from the environment."""
    from service.settings import load_settings

    return create_app(load_settings())


def serve(settings: Settings, workers: int = 1, **uvicorn_options: Any) -> None:
    """Serve with uvicorn; with ``workers`` > 1, as that many processes sharing the port, each
    reading the same settings (handed over through the environment)."""
    import json
    import os
    import socket

    import uvicorn

    configure_logging(settings.log_level)
    if workers > 1:
        for name, value in settings.model_dump(mode="json").items():
            text = value if isinstance(value, str) else json.dumps(value)
            os.environ[f"CORROBORATE_{name.upper()}"] = text
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config(
            "api.app:create_app_from_environment",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_config=None,
            **uvicorn_options,
        )
        sock = config.bind_socket()
        # uvicorn's shared socket reaches the workers without TCP_NODELAY (uvicorn issue #3149):
        # every keep-alive response after the first then waits ~40 ms for Nagle. Accepted
        # sockets inherit it from the listening one on Linux.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Multiprocess(config, sockets=[sock]).run()
        return
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        **uvicorn_options,
    )
