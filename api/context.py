"""The per-request GraphQL context."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    request: Request | WebSocket
    response: Response | None
