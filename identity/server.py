"""Corroborate's OAuth 2.0 / OpenID Connect authorization server, built on authlib.

Grants: authorization code with PKCE (RFC 7636, S256 only, required of every client) and an
ID token for the ``openid`` scope; refresh tokens (opaque, rotated on every use, reuse of a
rotated one revokes its family); client credentials for publishers' machine clients. Endpoints:
revocation (RFC 7009) and introspection (RFC 7662, for clients holding the ``introspect`` scope).

authlib is synchronous and the app's database is async. A server is made per request around a
*synchronous* Session that SQLAlchemy hands to ``AsyncSession.run_sync``: authlib's grant logic
runs in a greenlet whose every query is awaited on the event loop by SQLAlchemy's bridge, so no
sync driver is used and nothing blocks. The routes (api/auth/routes.py) read the request body
first and build a ``FormRequest`` that carries it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.models import AuthorizationCodeMixin
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.responses import Response

from identity import keys, tokens
from identity.accounts import Account, load_account, subject_of
from identity.config import AuthConfig, sha256_hex, utc
from models.identity import AuthorizationCode, OAuthClient, RefreshToken, TokenFamily

# authlib logs issued tokens and client ids at DEBUG ("Issue token %r to %r"): never let
# tokens, codes or secrets reach the logs, whatever the log level.
logging.getLogger("authlib").setLevel(logging.INFO)

#: Scopes a client may be registered with. ``introspect`` lets a client call /oauth/introspect;
#: ``publish`` is what publishers' machine clients hold.
SCOPES = {
    "openid": "sign you in (an ID token with your pseudonym)",
    "profile": "see your pseudonym",
    "member": "act as you: comment, challenge figures",
    "moderate": "use your moderator role",
    "publish": "submit documents for your publisher",
    "admin": "use your admin role",
    "introspect": "inspect tokens (operators)",
}
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")


# -- redirect URIs -------------------------------------------------------------------------------

#: A loopback IP redirect URI (RFC 8252 §7.3): http, the literal 127.0.0.1 or [::1], any port.
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\])(?::(?P<port>[0-9]{1,5}))?(?P<rest>[/?][^#]*)?"
)


def redirect_matches(registered: str, given: str) -> bool:
    """Whether ``given`` (a request's redirect_uri) is the registered redirect URI.

    Exact string comparison, with one exception that RFC 8252 §7.3 requires of authorization
    servers: for a loopback IP redirect URI (``http://127.0.0.1`` or ``http://[::1]``, as
    registered) a native app may name any port at the time of the request, since it listens on
    whatever port its operating system gives it. Everything else — scheme, host (``localhost``
    is not a loopback IP literal, RFC 8252 §8.3, and is matched exactly), path and query — must
    still be exactly as registered; a URI with a fragment or user information never matches.
    """
    if given == registered:
        return True
    wanted, found = _LOOPBACK.fullmatch(registered), _LOOPBACK.fullmatch(given)
    if wanted is None or found is None:
        return False
    port = found["port"]
    return (
        found["host"] == wanted["host"]
        and (found["rest"] or "") == (wanted["rest"] or "")
        and (port is None or 1 <= int(port) <= 65535)
    )


# -- the request and the client ------------------------------------------------------------------


class _Payload:
    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._datalist: dict[str, list[str]] = {}
        for name, value in items:
            self._datalist.setdefault(name, []).append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist

    client_id = property(lambda self: self._data.get("client_id"))
    grant_type = property(lambda self: self._data.get("grant_type"))
    redirect_uri = property(lambda self: self._data.get("redirect_uri"))
    scope = property(lambda self: self._data.get("scope"))
    state = property(lambda self: self._data.get("state"))

    @property
    def response_type(self) -> str | None:
        value = self._data.get("response_type")
        return " ".join(sorted(value.split())) if value and " " in value else value


class FormRequest(OAuth2Request):
    """An OAuth request whose parameters (query and form) were read before entering authlib.

    ``uri`` is the issuer's URL of the endpoint: authlib refuses plain http except on loopback
    addresses (InsecureTransportError), and the issuer is what the operator declared public.
    """

    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], items: Sequence[tuple[str, str]]
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = _Payload(items)

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


@dataclass
class Client(ClientMixin):
    client_id: str
    secret_hash: str | None
    name: str
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    token_endpoint_auth_method: str
    publisher: str | None

    @classmethod
    def from_row(cls, row: OAuthClient) -> Client:
        return cls(
            client_id=row.client_id,
            secret_hash=row.secret_hash,
            name=row.name,
            redirect_uris=list(row.redirect_uris),
            grant_types=list(row.grant_types),
            scopes=list(row.scopes),
            token_endpoint_auth_method=row.token_endpoint_auth_method,
            publisher=row.publisher,
        )

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # redirect_uri is required and must match a registered one (redirect_matches)

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope to grant: the one asked for if the client may have all of it (else None,
        invalid_scope); without one, the client's scopes but ``introspect``."""
        if not scope:
            return " ".join(s for s in self.scopes if s != "introspect")
        wanted = scope_to_list(scope)
        if not set(wanted) <= set(self.scopes):
            return None
        return " ".join(dict.fromkeys(wanted))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_matches(registered, redirect_uri) for registered in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return secrets.compare_digest(sha256_hex(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method == self.token_endpoint_auth_method
        # revocation and introspection: a public client revokes its own tokens with its id
        if self.secret_hash is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


# -- stored codes and tokens as authlib sees them ------------------------------------------------


class _Code(AuthorizationCodeMixin):
    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(utc(self.row.auth_time).timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass
class _Refresh:
    row: RefreshToken
    family_revoked: bool
    now: dt.datetime

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def is_expired(self) -> bool:
        return utc(self.row.expires_at) <= self.now

    def is_revoked(self) -> bool:
        return self.family_revoked or self.row.rotated_at is not None


@dataclass
class _Access:
    claims: dict[str, Any]
    revoked: bool
    now: dt.datetime

    def check_client(self, client: Client) -> bool:
        return bool(self.claims.get("client_id") == client.client_id)

    def is_expired(self) -> bool:
        return int(self.claims["exp"]) <= int(self.now.timestamp())

    def is_revoked(self) -> bool:
        return self.revoked


class InsufficientScopeError(OAuth2Error):
    error = "insufficient_scope"
    status_code = 403


# -- grants --------------------------------------------------------------------------------------


class _Pkce(CodeChallenge):
    """PKCE with S256, required of every client (OAuth 2.1), public or confidential."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE with S256 is required.")
        if data.get("code_challenge_method", "plain") != "S256":
            raise InvalidRequestError("Expected 'code_challenge_method' S256.")
        super().validate_code_challenge(grant, redirect_uri)


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    server: OAuthServer

    def save_authorization_code(self, code: str, request: FormRequest) -> None:
        data = request.payload.data
        account: Account = request.user
        now = self.server.now
        self.server.db.add(
            AuthorizationCode(
                code_hash=sha256_hex(code),
                client_id=request.client.client_id,
                account_id=account.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope or "",
                code_challenge=data["code_challenge"],
                code_challenge_method=data.get("code_challenge_method", "S256"),
                nonce=data.get("nonce"),
                auth_time=self.server.auth_time or now,
                expires_at=now + dt.timedelta(seconds=self.server.config.code_ttl_s),
            )
        )
        self.server.db.flush()

    def query_authorization_code(self, code: str, client: Client) -> _Code | None:
        row = self.server.db.scalar(
            select(AuthorizationCode)
            .where(
                col(AuthorizationCode.code_hash) == sha256_hex(code),
                col(AuthorizationCode.client_id) == client.client_id,
            )
            .with_for_update()
        )
        if row is None:
            return None
        if row.used_at is not None:
            # RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for
            if row.family_id is not None:
                tokens.revoke_family(
                    self.server.db, row.family_id, self.server.now, "authorization code reused"
                )
            return None
        if utc(row.expires_at) <= self.server.now:
            return None
        return _Code(row)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        authorization_code.row.used_at = self.server.now
        authorization_code.row.family_id = self.request.family_id
        self.server.db.flush()

    def authenticate_user(self, authorization_code: _Code) -> Account:
        return self.server.active_account(authorization_code.row.account_id)

    def generate_token(
        self,
        user: Account | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        assert user is not None
        token, family = self.server.issue(
            client=self.request.client,
            account=user,
            scope=scope or "",
            family_id=None,
            include_refresh_token=include_refresh_token,
        )
        self.request.family_id = family
        return token


class _RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: OAuthServer

    def authenticate_refresh_token(self, refresh_token: str) -> _Refresh | None:
        db, now = self.server.db, self.server.now
        row = db.scalar(
            select(RefreshToken)
            .where(col(RefreshToken.token_hash) == sha256_hex(refresh_token))
            .with_for_update()
        )
        if row is None:
            return None
        family = db.get(TokenFamily, row.family_id)
        if family is None or family.revoked_at is not None:
            return None
        if row.rotated_at is not None:
            # a rotated token came back: it leaked (or the client is confused); revoke the family
            tokens.revoke_family(db, row.family_id, now, "rotated refresh token reused")
            return None
        if utc(row.expires_at) <= now:
            return None
        return _Refresh(row=row, family_revoked=False, now=now)

    def authenticate_user(self, refresh_token: _Refresh) -> Account:
        return self.server.active_account(refresh_token.row.account_id)

    def revoke_old_credential(self, refresh_token: _Refresh) -> None:
        refresh_token.row.rotated_at = self.server.now
        self.server.db.flush()

    def generate_token(
        self,
        user: Account | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        assert user is not None
        token, _family = self.server.issue(
            client=self.request.client,
            account=user,
            scope=scope or "",
            family_id=self.request.refresh_token.row.family_id,
            include_refresh_token=include_refresh_token,
        )
        return token


class _ClientCredentialsGrant(ClientCredentialsGrant):
    """For publishers' machines: the token speaks for the client's publisher."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]
    server: OAuthServer

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: Client = self.request.client
        if client.publisher is None:
            raise UnauthorizedClientError(
                "Client credentials are for publishers' machine clients; this client has no "
                "publisher."
            )
        if client.get_allowed_scope(self.request.payload.scope) is None:
            raise InvalidScopeError()

    def generate_token(
        self,
        user: Account | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        client: Client = self.request.client
        token, _family = self.server.issue(
            client=client,
            account=None,
            scope=client.get_allowed_scope(scope) or "",
            family_id=None,
            include_refresh_token=False,
        )
        return token


class _OpenID(OpenIDCode):
    """An ID token for the ``openid`` scope: ``sub`` member:<public id> and the pseudonym, never the
    email."""

    def __init__(self, server: OAuthServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: FormRequest) -> bool:
        found = self.server.db.scalar(
            select(col(AuthorizationCode.id))
            .where(
                col(AuthorizationCode.client_id) == request.payload.client_id,
                col(AuthorizationCode.nonce) == nonce,
            )
            .limit(1)
        )
        return found is not None

    def resolve_client_private_key(self, client: Client) -> OKPKey:
        return self.server.key().key

    def get_client_algorithm(self, client: Client) -> str:
        return keys.ALG

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": keys.ALG, "kid": self.server.key().kid, "typ": "JWT"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(self.server.now.timestamp())
        return {
            "iss": self.server.config.issuer,
            "aud": [client.client_id],
            "iat": now,
            "exp": now + self.server.config.access_token_ttl_s,
        }

    def generate_user_info(self, user: Account, scope: str) -> UserInfo:
        return UserInfo(sub=subject_of(user), preferred_username=user.pseudonym)


# -- endpoints -----------------------------------------------------------------------------------


class _TokenLookup:
    server: OAuthServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        server = self.server
        if tokens.looks_like_jwt(token_string):
            claims = tokens.decode_access_token(
                token_string,
                keys.verification_keys(server.db, server.now, server.config.key_grace_s),
                issuer=server.config.issuer,
                audience=server.config.audience,
                now=server.now,
                allow_expired=True,
            )
            if claims is None:
                return None
            revoked = tokens.is_revoked_sync(server.db, claims["jti"], claims.get("sid"))
            return _Access(claims=claims, revoked=revoked, now=server.now)
        row = server.db.scalar(
            select(RefreshToken).where(col(RefreshToken.token_hash) == sha256_hex(token_string))
        )
        if row is None:
            return None
        family = server.db.get(TokenFamily, row.family_id)
        return _Refresh(
            row=row, family_revoked=family is None or family.revoked_at is not None, now=server.now
        )


class _Revocation(_TokenLookup, RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def revoke_token(self, token: _Access | _Refresh, request: FormRequest) -> None:
        server = self.server
        if isinstance(token, _Access):
            expires = dt.datetime.fromtimestamp(int(token.claims["exp"]), dt.UTC)
            if expires > server.now:
                tokens.revoke_access_token(server.db, token.claims["jti"], expires)
        else:
            tokens.revoke_family(
                server.db, token.row.family_id, server.now, "refresh token revoked"
            )


class _Introspection(_TokenLookup, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def authenticate_endpoint_client(self, request: FormRequest) -> Client:
        client: Client = super().authenticate_endpoint_client(request)
        if "introspect" not in client.scopes:
            raise InsufficientScopeError("This client may not introspect tokens.")
        return client

    def check_permission(self, token: Any, client: Client, request: FormRequest) -> bool:
        return True  # any token of this server, to a client holding the introspect scope

    def introspect_token(self, token: _Access | _Refresh) -> dict[str, Any]:
        if isinstance(token, _Access):
            wanted = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti")
            payload = {name: token.claims[name] for name in wanted if name in token.claims}
            payload.update(
                {
                    name: token.claims[name]
                    for name in ("roles", "publisher", "sid")
                    if name in token.claims
                }
            )
            return {"active": True, "token_type": "Bearer", **payload}
        row = token.row
        owner = load_account(self.server.db, account_id=row.account_id)
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": subject_of(owner) if owner is not None else "member:unknown",
            "iss": self.server.config.issuer,
            "exp": int(utc(row.expires_at).timestamp()),
            "iat": int(utc(row.issued_at).timestamp()),
            "sid": row.family_id,
        }


# -- the server ----------------------------------------------------------------------------------


class OAuthServer(AuthorizationServer):
    """One request's authorization server, around that request's synchronous Session."""

    def __init__(
        self,
        db: Session,
        config: AuthConfig,
        now: dt.datetime,
        auth_time: dt.datetime | None = None,
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.db = db
        self.config = config
        self.now = now
        self.auth_time = auth_time
        self._key: keys.ActiveKey | None = None
        self.register_grant(_CodeGrant, [_Pkce(required=True), _OpenID(self)])
        self.register_grant(_RefreshGrant)
        self.register_grant(_ClientCredentialsGrant)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_Introspection)

    # authlib's hooks
    def query_client(self, client_id: str) -> Client | None:
        row = self.db.get(OAuthClient, client_id)
        return Client.from_row(row) if row is not None else None

    def save_token(self, token: dict[str, Any], request: FormRequest) -> None:
        """Nothing to do: ``issue`` stored the refresh token and its family as it made them."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(
        self, status: int, body: Any, headers: Sequence[tuple[str, str]]
    ) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else (body or "")
        return Response(content, status_code=status, headers=dict(headers))

    # ours
    def key(self) -> keys.ActiveKey:
        if self._key is None:
            self._key = keys.signing_key(self.db, self.now)
        return self._key

    def active_account(self, account_id: int) -> Account:
        account = load_account(self.db, account_id=account_id)
        if account is None:
            raise InvalidGrantError("The account no longer exists.")
        if not account.active:
            raise InvalidGrantError("The account is suspended.")
        return account

    def issue(
        self,
        *,
        client: Client,
        account: Account | None,
        scope: str,
        family_id: str | None,
        include_refresh_token: bool,
    ) -> tuple[dict[str, Any], str | None]:
        """An access token (and a refresh token in the family), stored as needed: (the token
        response, the family id). Tokens for an account always belong to a family, so that
        revoking it (suspension, reuse) reaches its access tokens through ``sid``."""
        config, now = self.config, self.now
        if account is None:
            subject, roles, publisher = (
                f"client:{client.client_id}",
                ["publisher"],
                client.publisher,
            )
        else:
            subject, roles, publisher = (
                subject_of(account),
                account.role_names,
                account.publisher,
            )
            if family_id is None:
                family_id = secrets.token_urlsafe(16)
                self.db.add(
                    TokenFamily(
                        family_id=family_id,
                        client_id=client.client_id,
                        account_id=account.id,
                        created_at=now,
                    )
                )
        issued = tokens.issue_access_token(
            self.key(),
            issuer=config.issuer,
            audience=config.audience,
            ttl_s=config.access_token_ttl_s,
            subject=subject,
            client_id=client.client_id,
            scope=scope,
            roles=roles,
            publisher=publisher,
            sid=family_id,
            now=now,
        )
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": issued.token,
            "expires_in": config.access_token_ttl_s,
            "scope": scope,
        }
        if include_refresh_token and account is not None and family_id is not None:
            refresh = secrets.token_urlsafe(32)
            self.db.add(
                RefreshToken(
                    token_hash=sha256_hex(refresh),
                    family_id=family_id,
                    client_id=client.client_id,
                    account_id=account.id,
                    scope=scope,
                    issued_at=now,
                    expires_at=now + dt.timedelta(seconds=config.refresh_token_ttl_s),
                )
            )
            token["refresh_token"] = refresh
        self.db.flush()
        return token, family_id


def metadata(config: AuthConfig) -> dict[str, Any]:
    """The discovery document (OpenID Connect Discovery 1.0, RFC 8414)."""
    base = config.issuer
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [keys.ALG],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "preferred_username",
        ],
        "access_token_signing_alg_values_supported": [keys.ALG],
    }
