"""Settings, read once at start from the environment (prefix ``CORROBORATE_``) and passed down.

Nothing below ``api/`` reads ``os.environ``: functions take the values they need.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ORIGIN = re.compile(r"^[A-Za-z0-9.\-]+(?::[0-9]+)?(?:/[A-Za-z0-9._\-]+)*$")
_DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class ToleranceSetting(BaseModel):
    """How far independent lineages may differ on one metric and still attest a figure."""

    relative: Decimal = Field(ge=0, le=1, description="Share of the figure's value, e.g. 0.02.")
    absolute: int = Field(ge=0, description="A count always allowed, for small figures.")


class SettingsError(ValueError):
    """A setting has a bad value; the message names the setting and what was expected."""


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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def log_key_path(self) -> Path:
        return self.data_dir / "ledger.key"


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; a bad value raises SettingsError with a one-line message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "?"
        env = f"CORROBORATE_{name.upper()}"
        got = first.get("input")
        raise SettingsError(f"{env}: {first['msg']} (got {got!r})") from None
