"""The per-request GraphQL context: the runtime, the caller, its budget and the DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types.graphql import OperationType

from api.auth.identity import Identity
from service.runtime import Runtime

T = TypeVar("T")


@dataclass
class Charge:
    """What the cost analysis decided for this request (see api/limits.py)."""

    cost: int = 0
    limit: int = 0
    remaining: int = 0
    reset_at: float = 0.0


@dataclass
class Context:
    runtime: Runtime
    request: Request | WebSocket
    response: Response | None
    #: who is asking, for budgets: ``token:<issuer>|<subject>`` or ``ip:<address>``
    client: str = "ip:unknown"
    authenticated: bool = False
    #: the caller a verified bearer token names (api/auth/resource.py); None when anonymous
    identity: Identity | None = None
    charge: Charge = field(default_factory=Charge)
    #: set by the cost analysis: the operation that runs (only queries' results are cached)
    operation_type: OperationType | None = None
    #: set by a resolver that reads something about the caller: the result is theirs alone
    uncacheable: bool = False
    #: a websocket's ``connection_init`` payload (graphql-transport-ws); its ``authorization``
    #: (``Bearer <token>``) signs the connection in
    connection_params: dict[str, Any] | None = None
    _loaders: dict[Any, Any] = field(default_factory=dict)

    def reset_loaders(self) -> None:
        """Forget cached loads: a subscription's context lives as long as its connection, and
        each event must read fresh rows."""
        self._loaders.clear()

    def loader(self, key: Any, factory: Callable[[Context], T]) -> T:
        """The request's one instance of a DataLoader (made on first use, shared after)."""
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = factory(self)
        return found
