"""A second, independent OpenID Connect issuer for tests: an agency's Keycloak, as far as
Corroborate can tell.

It is authlib's ``AuthorizationServer`` with the client credentials grant, issuing RFC 9068 JWT
access tokens (authlib's ``JWTBearerTokenGenerator``) signed with its own RSA keys, with
Keycloak's claims (``realm_access.roles``, ``preferred_username``, ``azp``, ``typ: Bearer``) and
Keycloak's paths under ``/realms/health``. It serves its discovery document, its JWKS and its
token endpoint over real HTTP: uvicorn on a free loopback port, in the test's event loop.

``token(...)`` signs a token directly with the issuer's current key, for claims no grant would
produce (expired, not yet valid, another audience…).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import socket
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

#: the audience Corroborate is configured with for this issuer in the tests
AUDIENCE = "corroborate-api"
REALM = "/realms/health"


@dataclass
class IssuerClient(ClientMixin):
    """A confidential client of the second issuer (a Keycloak service account)."""

    client_id: str
    client_secret: str
    roles: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=lambda: ["profile"])

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        wanted = (scope or " ".join(self.scopes)).split()
        return " ".join(wanted) if set(wanted) <= set(self.scopes) else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class _FormRequest(OAuth2Request):
    def __init__(self, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.payload.data)

    @property
    def args(self) -> dict[str, str]:
        return {}


class _AccessTokens(JWTBearerTokenGenerator):
    """authlib's RFC 9068 generator with the second issuer's key and Keycloak's claims."""

    def __init__(self, owner: SecondIssuer) -> None:
        super().__init__(issuer=owner.issuer, alg="RS256", expires_generator=300)
        self.owner = owner

    def get_jwks(self) -> KeySet:
        return KeySet([self.owner.signing_key])

    def get_audiences(self, client: IssuerClient, user: Any, scope: str) -> str:
        return AUDIENCE

    def get_extra_claims(
        self, client: IssuerClient, grant_type: str, user: Any, scope: str
    ) -> dict[str, Any]:
        return {
            "typ": "Bearer",
            "azp": client.client_id,
            "preferred_username": f"service-account-{client.client_id}",
            "realm_access": {"roles": list(client.roles)},
        }


class _Server(AuthorizationServer):
    def __init__(self, owner: SecondIssuer) -> None:
        super().__init__(scopes_supported=["profile", "email"])
        self.owner = owner
        self.register_grant(ClientCredentialsGrant)
        self.register_token_generator("default", _AccessTokens(owner))

    def query_client(self, client_id: str) -> IssuerClient | None:
        return self.owner.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        pass  # JWT access tokens, no refresh tokens: nothing to keep

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: _FormRequest) -> _FormRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        return JSONResponse(body, status_code=status, headers=dict(headers))


class SecondIssuer:
    """The issuer's state: its keys, its clients, and how often its endpoints were asked."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        port = self.socket.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{port}{REALM}"
        self.jwks_uri = f"{self.issuer}/protocol/openid-connect/certs"
        self.token_endpoint = f"{self.issuer}/protocol/openid-connect/token"
        self.keys: list[RSAKey] = []
        self.rotate_key()
        self.clients: dict[str, IssuerClient] = {}
        self.discovery_requests = 0
        self.jwks_requests = 0
        #: set to False to answer discovery and JWKS requests with 503 (an outage)
        self.available = True
        self.app = Starlette(
            routes=[
                Route(f"{REALM}/.well-known/openid-configuration", self._discovery),
                Route(f"{REALM}/protocol/openid-connect/certs", self._jwks),
                Route(f"{REALM}/protocol/openid-connect/token", self._token, methods=["POST"]),
            ]
        )

    @property
    def signing_key(self) -> RSAKey:
        return self.keys[-1]

    def rotate_key(self, *, keep_old: bool = True) -> str:
        """Sign with a new key from now on; the kid of the new key. The old keys stay in the
        JWKS unless ``keep_old`` is false."""
        key = RSAKey.generate_key(2048, private=True)
        key = RSAKey.import_key(
            key.as_dict(private=True) | {"kid": key.thumbprint(), "use": "sig", "alg": "RS256"}
        )
        self.keys = [*self.keys, key] if keep_old else [key]
        return str(key.kid)

    def add_client(self, client_id: str, roles: list[str]) -> IssuerClient:
        client = IssuerClient(client_id, secrets.token_urlsafe(24), roles)
        self.clients[client_id] = client
        return client

    def setting(self, **overrides: Any) -> dict[str, Any]:
        """How an operator would trust this issuer (an ``auth_external_issuers`` entry): roles
        from ``realm_access.roles`` — ``cb-moderator``, ``cb-publisher`` (bound to the publisher
        named by ``corroborate_publisher``, ``who`` only) and ``cb-admin``."""
        return {
            "issuer": self.issuer,
            "audience": AUDIENCE,
            "roles_claim": "realm_access.roles",
            "role_map": {
                "cb-moderator": "moderator",
                "cb-publisher": "publisher",
                "cb-admin": "admin",
            },
            "publisher_claim": "corroborate_publisher",
            "publishers": ["who"],
            **overrides,
        }

    def basic_auth(self, client: IssuerClient) -> str:
        raw = f"{client.client_id}:{client.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def token(
        self,
        sub: str | None = "f3a1c6e2-5b7d-4e8a-9c0f-2d4b6a8e1f35",
        roles: list[str] | None = None,
        *,
        aud: str | list[str] | None = AUDIENCE,
        exp_in: int = 300,
        header: dict[str, Any] | None = None,
        key: RSAKey | None = None,
        **claims: Any,
    ) -> str:
        """A Keycloak-like access token for a person, signed now with the current key (or
        ``key``). A claim given as None is left out; ``header`` entries override the header's."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": aud,
            "exp": now + exp_in,
            "iat": now,
            "jti": secrets.token_urlsafe(12),
            "typ": "Bearer",
            "azp": "health-portal",
            "preferred_username": "ada.lovelace",
            "scope": "openid profile email",
            "realm_access": {"roles": roles if roles is not None else ["default-roles-health"]},
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        signer = key or self.signing_key
        fields = {"alg": "RS256", "typ": "JWT", "kid": signer.kid} | (header or {})
        return jwt.encode(fields, payload, signer, algorithms=[str(fields["alg"])])

    # -- the endpoints -----------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        self.discovery_requests += 1
        if not self.available:
            return Response("down for maintenance", status_code=503)
        return JSONResponse(
            {
                "issuer": self.issuer,
                "jwks_uri": self.jwks_uri,
                "token_endpoint": self.token_endpoint,
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        if not self.available:
            return Response("down for maintenance", status_code=503)
        return JSONResponse({"keys": [key.as_dict(private=False) for key in self.keys]})

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        response: Response = _Server(self).create_token_response(
            _FormRequest(self.token_endpoint, request.headers, form)
        )
        return response


@contextlib.asynccontextmanager
async def run_issuer() -> AsyncIterator[SecondIssuer]:
    """A :class:`SecondIssuer` served by uvicorn on its loopback port until the block ends."""
    issuer = SecondIssuer()
    config = uvicorn.Config(issuer.app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.get_running_loop().create_task(server.serve(sockets=[issuer.socket]))
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
                raise RuntimeError("the second issuer stopped before it started")
            await asyncio.sleep(0.01)
        yield issuer
    finally:
        server.should_exit = True
        await serving
        issuer.socket.close()
