"""Registering OAuth clients: apps and web pages (authorization code + PKCE, public or
confidential), publishers' machines (client credentials, bound to one publisher) and operators'
introspection clients. A client secret is shown once, when it is made, and kept as its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from identity.accounts import AccountError
from identity.config import sha256_hex, utc
from identity.server import GRANT_TYPES, SCOPES
from models.identity import OAuthClient
from models.ingest import Publisher


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    name: str
    public: bool
    grant_types: list[str]
    redirect_uris: list[str]
    scopes: list[str]
    token_endpoint_auth_method: str
    publisher: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Registered:
    client: ClientInfo
    secret: str | None  # shown once; None for a public client


def _info(row: OAuthClient) -> ClientInfo:
    return ClientInfo(
        client_id=row.client_id,
        name=row.name,
        public=row.secret_hash is None,
        grant_types=list(row.grant_types),
        redirect_uris=list(row.redirect_uris),
        scopes=list(row.scopes),
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        publisher=row.publisher,
        created_at=utc(row.created_at),
    )


def _redirect_problem(uri: str) -> str | None:
    parts = urlsplit(uri)
    if (
        not parts.scheme
        or parts.fragment
        or (parts.scheme in ("http", "https") and not parts.netloc)
    ):
        return (
            f"redirect URI {uri!r}: expected an absolute URI without a fragment, such as "
            "https://app.example.org/callback or org.example.app:/callback"
        )
    return None


async def register_client(
    session: AsyncSession,
    *,
    name: str,
    grant_types: list[str],
    redirect_uris: list[str],
    scopes: list[str] | None,
    publisher: str | None,
    public: bool,
    auth_method: str,
    now: dt.datetime,
    client_id: str | None = None,
) -> Registered:
    """Register a client; AccountError (400/404) says what was expected. ``client_id`` is made
    at random unless given (the demo client's is fixed: identity/demo.py)."""
    grants = list(dict.fromkeys(grant_types))
    problems: list[str] = []
    if not name.strip():
        problems.append("name: expected a name people will recognise on the consent page")
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if not grants or unknown:
        problems.append(
            f"grant: expected some of {', '.join(GRANT_TYPES)}, got {', '.join(grants) or 'none'}"
        )
    if "authorization_code" in grants and not redirect_uris:
        problems.append("authorization_code needs at least one --redirect-uri")
    if "authorization_code" not in grants and redirect_uris:
        problems.append("--redirect-uri is only for clients with the authorization_code grant")
    problems += [p for p in map(_redirect_problem, redirect_uris) if p]
    if "refresh_token" in grants and "authorization_code" not in grants:
        problems.append("refresh_token comes with authorization_code")
    if "client_credentials" in grants:
        if public:
            problems.append("client_credentials needs a confidential client (not --public)")
        if publisher is None:
            problems.append(
                "client_credentials is for a publisher's machines: give --publisher SLUG"
            )
    elif publisher is not None:
        problems.append("--publisher is for client_credentials clients")
    if scopes is None:
        scopes = (
            ["publish"] if grants == ["client_credentials"] else ["openid", "profile", "member"]
        )
    bad_scopes = [s for s in scopes if s not in SCOPES]
    if bad_scopes:
        problems.append(f"scope: expected some of {', '.join(SCOPES)}, got {', '.join(bad_scopes)}")
    methods = ("client_secret_basic", "client_secret_post")
    if not public and auth_method not in methods:
        problems.append(f"auth method: expected one of {', '.join(methods)}, got {auth_method!r}")
    if problems:
        raise AccountError("; ".join(problems))
    if publisher is not None and not await session.scalar(
        select(col(Publisher.id)).where(col(Publisher.slug) == publisher)
    ):
        raise AccountError(f"no publisher has the slug {publisher!r}", status=404)
    secret = None if public else secrets.token_urlsafe(32)
    row = OAuthClient(
        client_id=client_id or secrets.token_urlsafe(16),
        secret_hash=None if secret is None else sha256_hex(secret),
        name=name.strip(),
        redirect_uris=list(dict.fromkeys(redirect_uris)),
        grant_types=grants,
        scopes=list(dict.fromkeys(scopes)),
        token_endpoint_auth_method="none" if public else auth_method,
        publisher=publisher,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return Registered(client=_info(row), secret=secret)


async def list_clients(session: AsyncSession) -> list[ClientInfo]:
    rows = (await session.scalars(select(OAuthClient).order_by(col(OAuthClient.created_at)))).all()
    return [_info(row) for row in rows]
