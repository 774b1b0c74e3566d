"""Settings, read once at start from the environment (prefix ``CORROBORATE_``) and passed down.

Nothing below ``api/`` reads ``os.environ``: functions take the values they need.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from identity.config import AuthConfig

_ORIGIN = re.compile(r"^[A-Za-z0-9.\-]+(?::[0-9]+)?(?:/[A-Za-z0-9._\-]+)*$")
_DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class ToleranceSetting(BaseModel):
    """How far independent lineages may differ on one metric and still attest a figure."""

    relative: Decimal = Field(ge=0, le=1, description="Share of the figure's value, e.g. 0.02.")
    absolute: int = Field(ge=0, description="A count always allowed, for small figures.")


class SettingsError(ValueError):
    """A setting has a bad value; the message names the setting and what was expected."""


# -- external OpenID Connect issuers (auth_external_issuers; api/auth/external.py) ---------------

#: the signature algorithms an external issuer may be trusted with: asymmetric only. ``none``
#: and the HMAC ones (HS256…) are refused: an HMAC "key" would be the issuer's public key, which
#: anyone can fetch, so anyone could sign.
EXTERNAL_ALGORITHMS = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "EdDSA", "Ed25519"),
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_external_url(value: str) -> str:
    """An external issuer's URL (or its JWKS's): https, or http on a loopback host (tests)."""
    parts = urlsplit(value)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.query
        or parts.fragment
        or (parts.scheme == "http" and not _is_loopback(parts.hostname))
    ):
        raise ValueError(
            "expected an https URL without query or fragment (http only on a loopback host), "
            "e.g. https://login.example.org/realms/health"
        )
    return value


class ExternalIssuerSetting(BaseModel):
    """One external OpenID Connect issuer whose access tokens the API accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(description="The issuer's URL, exactly as in its tokens' `iss`.")
    jwks_uri: str | None = Field(
        default=None,
        description="Where its keys are; default: the `jwks_uri` of "
        "<issuer>/.well-known/openid-configuration.",
    )
    audience: str = Field(min_length=1, description="The `aud` its tokens must carry for this API.")
    algorithms: tuple[str, ...] = Field(
        default=("RS256", "ES256", "EdDSA"),
        min_length=1,
        description="Signature algorithms accepted; asymmetric only.",
    )
    roles_claim: str = Field(
        default="roles",
        pattern=r"^[^.]+(\.[^.]+)*$",
        description="Dotted path of the claim listing the caller's roles there, e.g. "
        "realm_access.roles (Keycloak).",
    )
    role_map: dict[str, Literal["member", "moderator", "publisher", "admin"]] = Field(
        default_factory=dict,
        description="Its role names → ours; other names are ignored. Every caller is a member.",
    )
    publisher_claim: str | None = Field(
        default=None,
        pattern=r"^[^.]+(\.[^.]+)*$",
        description="Dotted path of the claim naming the publisher (slug) a mapped publisher "
        "role is bound to; required when a role maps to publisher.",
    )
    publishers: tuple[str, ...] = Field(
        default=(),
        description="The publishers (slugs) this issuer may bind a publisher role to; "
        "required when a role maps to publisher.",
    )
    leeway_s: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on `exp`, `nbf` and `iat`."
    )
    scope_claim: str = Field(
        default="scope", min_length=1, description="The claim holding the token's scopes."
    )

    @field_validator("issuer", "jwks_uri")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else check_external_url(value)

    @field_validator("algorithms")
    @classmethod
    def _check_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for alg in value:
            if alg.lower() == "none" or alg.upper().startswith("HS"):
                raise ValueError(
                    f"{alg} is refused for an external issuer: expected asymmetric algorithms "
                    f"only, some of {', '.join(EXTERNAL_ALGORITHMS)}"
                )
            if alg not in EXTERNAL_ALGORITHMS:
                raise ValueError(
                    f"unknown algorithm {alg}: expected some of {', '.join(EXTERNAL_ALGORITHMS)}"
                )
        return value

    @model_validator(mode="after")
    def _check_publisher_binding(self) -> ExternalIssuerSetting:
        if "publisher" in self.role_map.values() and (
            self.publisher_claim is None or not self.publishers
        ):
            raise ValueError(
                f"{self.issuer}: a role mapped to publisher needs publisher_claim (the claim "
                "naming the publisher) and publishers (the slugs this issuer may speak for)"
            )
        return self


class Settings(BaseSettings):
    """Every setting Corroborate reads; the environment variable is ``CORROBORATE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CORROBORATE_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/corroborate.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://…",
    )
    data_dir: Path = Field(
        default=Path("./var"),
        description="Where the ledger key, the publishers' originals and exports live.",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    log_origin: str = Field(
        default="localhost/corroborate",
        description="The transparency log's origin line (C2SP tlog-checkpoint), e.g. example.org/log.",
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    ledger_batch_max: int = Field(
        default=4096, ge=1, le=1_000_000, description="Most leaves the sequencer puts in one batch."
    )
    ledger_batch_wait_ms: int = Field(
        default=5, ge=0, le=10_000, description="How long the sequencer waits to fill a batch."
    )

    api_max_query_cost: int = Field(
        default=5_000, ge=1, description="Most points one GraphQL query may cost (docs/api.md)."
    )
    api_budget_anonymous: int = Field(
        default=20_000,
        ge=1,
        description="Points an anonymous client (per IP) may spend per window.",
    )
    api_budget_authenticated: int = Field(
        default=100_000, ge=1, description="Points a signed-in client may spend per window."
    )
    api_budget_window_s: int = Field(
        default=60, ge=1, le=86_400, description="Length of a budget window, in seconds."
    )
    api_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Longest a GraphQL operation may execute."
    )
    api_max_body_bytes: int = Field(
        default=100_000, ge=1_000, description="Largest GraphQL request body accepted."
    )
    api_public_max_age_s: int = Field(
        default=30, ge=0, description="max-age of anonymous GET responses (Cache-Control: public)."
    )
    api_response_cache_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory per process for results of anonymous queries, kept while the data "
        "version is unchanged (api/response_cache.py); 0 turns the cache off.",
    )
    ws_init_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Seconds a websocket client has to send connection_init before it is closed "
        "with 4408 (graphql-transport-ws).",
    )
    ws_max_subscriptions: int = Field(
        default=10,
        ge=1,
        le=1_000,
        description="Most operations (subscriptions) one websocket connection may run at once; "
        "one more is answered with an error message.",
    )

    reconcile_tolerances: dict[str, ToleranceSetting] = Field(
        default_factory=dict,
        description="Per-metric tolerances overriding the defaults (ingest/reconcile/figures.py), "
        'as JSON: {"cases_daily": {"relative": "0.15", "absolute": 20}}. A figure is ATTESTED '
        "when its lineages' spread is at most max(absolute, relative * value).",
    )

    moderation_system_min_spread_ratio: float = Field(
        default=0.25,
        ge=0,
        description="A reconciliation run opens a system challenge on each figure it makes "
        "DISPUTED whose lineages differ by at least this share of its value.",
    )
    moderation_system_max_per_run: int = Field(
        default=100,
        ge=0,
        le=100_000,
        description="At most this many system challenges per reconciliation run, the widest "
        "disputes first (0: none).",
    )

    auth_issuer: str = Field(
        default="",
        description="The authorization server's issuer URL (the `iss` of its tokens and the base "
        "of its endpoints), e.g. https://corroborate.example.org; default http://HOST:PORT. "
        "The OAuth endpoints refuse to work (insecure_transport) unless it is https or http on "
        "localhost or a loopback address.",
    )
    auth_audience: str = Field(
        default="corroborate-api", min_length=1, description="The `aud` of access tokens."
    )
    auth_access_token_ttl_s: int = Field(
        default=600, ge=30, le=86_400, description="Lifetime of an access token (a signed JWT)."
    )
    auth_refresh_token_ttl_s: int = Field(
        default=30 * 86_400,
        ge=60,
        description="Lifetime of a refresh token; each use rotates it for a new one.",
    )
    auth_code_ttl_s: int = Field(
        default=60, ge=5, le=600, description="Lifetime of an authorization code."
    )
    auth_key_grace_s: int = Field(
        default=86_400,
        ge=0,
        description="How long a retired token signing key stays in the JWKS; at least the access "
        "token lifetime.",
    )
    auth_signin_window_s: int = Field(
        default=900, ge=1, le=86_400, description="The sign-in and sign-up throttle's window."
    )
    auth_signin_max_failures_account: int = Field(
        default=10, ge=1, description="Failed sign-ins per email address per window."
    )
    auth_signin_max_failures_ip: int = Field(
        default=50, ge=1, description="Failed sign-ins per IP address per window."
    )
    auth_signup_max_per_ip: int = Field(
        default=20, ge=1, description="Sign-up attempts per IP address per window."
    )
    auth_argon2_time_cost: int = Field(
        default=2, ge=1, le=20, description="argon2id iterations (OWASP: 2 with 19 MiB)."
    )
    auth_argon2_memory_kib: int = Field(
        default=19_456,
        ge=8,
        le=4_194_304,
        description="argon2id memory in KiB (OWASP: 19456); lower only in tests.",
    )
    auth_argon2_parallelism: int = Field(
        default=1, ge=1, le=16, description="argon2id lanes (OWASP: 1)."
    )

    # -- external OpenID Connect issuers (api/auth/external.py) --
    auth_external_issuers: tuple[ExternalIssuerSetting, ...] = Field(
        default=(),
        description="External OpenID Connect issuers whose access tokens the API accepts, as "
        'JSON: [{"issuer": "https://login.example.org/realms/health", "audience": '
        '"corroborate-api", "roles_claim": "realm_access.roles", "role_map": {"cb-moderator": '
        '"moderator"}}] (docs/operations.md).',
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(_DRIVERS):
            raise ValueError(f"expected a URL starting with one of {', '.join(_DRIVERS)}")
        return value

    @field_validator("log_origin")
    @classmethod
    def _check_origin(cls, value: str) -> str:
        if not _ORIGIN.match(value):
            raise ValueError("expected a schema-less URL such as example.org/log (no spaces)")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("expected one of debug, info, warning, error")
        return value.lower()

    @field_validator("reconcile_tolerances")
    @classmethod
    def _check_metrics(cls, value: dict[str, ToleranceSetting]) -> dict[str, ToleranceSetting]:
        from ingest.adapters.base import Metric

        known = {str(m) for m in Metric}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown metric {', '.join(unknown)}: expected some of {', '.join(sorted(known))}"
            )
        return value

    @field_validator("auth_external_issuers")
    @classmethod
    def _check_external_issuers(
        cls, value: tuple[ExternalIssuerSetting, ...]
    ) -> tuple[ExternalIssuerSetting, ...]:
        seen: set[str] = set()
        for entry in value:
            if entry.issuer in seen:
                raise ValueError(f"expected each issuer once, got {entry.issuer} twice")
            seen.add(entry.issuer)
        return value

    @field_validator("auth_issuer")
    @classmethod
    def _check_issuer(cls, value: str) -> str:
        if value == "":
            return value
        parts = urlsplit(value)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.query
            or parts.fragment
        ):
            raise ValueError(
                "expected an http(s) URL without query or fragment, e.g. "
                "https://corroborate.example.org"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _derive_auth(self) -> Settings:
        if self.auth_issuer == "":
            host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
            self.auth_issuer = f"http://{host}:{self.port}"
        if self.auth_key_grace_s < self.auth_access_token_ttl_s:
            raise ValueError(
                f"CORROBORATE_AUTH_KEY_GRACE_S {self.auth_key_grace_s} is shorter than "
                f"CORROBORATE_AUTH_ACCESS_TOKEN_TTL_S {self.auth_access_token_ttl_s}: tokens "
                "signed by a retired key would stop verifying before they expire"
            )
        return self

    @model_validator(mode="after")
    def _check_external_not_own(self) -> Settings:
        """Runs after ``_derive_auth``: our own issuer is never also an external one."""
        own = self.auth_issuer.rstrip("/")
        for entry in self.auth_external_issuers:
            if entry.issuer.rstrip("/") == own:
                raise ValueError(
                    f"CORROBORATE_AUTH_EXTERNAL_ISSUERS names {entry.issuer}, which is "
                    "CORROBORATE_AUTH_ISSUER: our own tokens are verified with our own keys only"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def log_key_path(self) -> Path:
        return self.data_dir / "ledger.key"

    def auth_config(self) -> AuthConfig:
        """What the authorization server (identity/) reads from these settings."""
        from identity.config import AuthConfig
        from identity.passwords import HashParameters

        return AuthConfig(
            issuer=self.auth_issuer,
            audience=self.auth_audience,
            access_token_ttl_s=self.auth_access_token_ttl_s,
            refresh_token_ttl_s=self.auth_refresh_token_ttl_s,
            code_ttl_s=self.auth_code_ttl_s,
            key_grace_s=self.auth_key_grace_s,
            hashing=HashParameters(
                time_cost=self.auth_argon2_time_cost,
                memory_kib=self.auth_argon2_memory_kib,
                parallelism=self.auth_argon2_parallelism,
            ),
            signin_window_s=self.auth_signin_window_s,
            signin_max_failures_account=self.auth_signin_max_failures_account,
            signin_max_failures_ip=self.auth_signin_max_failures_ip,
            signup_max_per_ip=self.auth_signup_max_per_ip,
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; a bad value raises SettingsError with a one-line message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a check across settings names them in its message
            raise SettingsError(str(first["msg"]).removeprefix("Value error, ")) from None
        name = ".".join(str(p) for p in first["loc"])
        env = f"CORROBORATE_{name.upper()}"
        got = first.get("input")
        raise SettingsError(f"{env}: {first['msg']} (got {got!r})") from None
