"""The demo OAuth client that ``corroborate demo load`` (so ``make run``) registers, so that
signing in works out of the box, with no operator command.

It is a *public* client (no secret: PKCE S256 only, as every authorization-code client here)
with a fixed client ID, ``corroborate-demo``, for apps running on the same machine: its redirect
URIs are the loopback addresses ``http://127.0.0.1/callback`` and ``http://[::1]/callback``, and
as RFC 8252 §7.3 requires for loopback IP redirect URIs, an app may put any port in them
(``http://127.0.0.1:53682/callback``). Registering it again changes nothing. It is a demo
convenience: a production operator registers its own clients (``corroborate clients add``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from identity.clients import ClientInfo, list_clients, register_client

DEMO_CLIENT_ID = "corroborate-demo"
DEMO_CLIENT_NAME = "Corroborate demo app (local)"
DEMO_REDIRECT_URIS = ("http://127.0.0.1/callback", "http://[::1]/callback")
DEMO_GRANTS = ("authorization_code", "refresh_token")
#: what a member, moderator or publisher can use the demo with; a role is still needed for each
DEMO_SCOPES = ("openid", "profile", "member", "moderate", "publish")


async def find_demo_client(session: AsyncSession) -> ClientInfo | None:
    found = [c for c in await list_clients(session) if c.client_id == DEMO_CLIENT_ID]
    return found[0] if found else None


async def ensure_demo_client(
    session: AsyncSession, *, now: dt.datetime | None = None
) -> tuple[ClientInfo, bool]:
    """The demo client, registered if it is not yet; returns it and whether it was new."""
    existing = await find_demo_client(session)
    if existing is not None:
        return existing, False
    registered = await register_client(
        session,
        name=DEMO_CLIENT_NAME,
        grant_types=list(DEMO_GRANTS),
        redirect_uris=list(DEMO_REDIRECT_URIS),
        scopes=list(DEMO_SCOPES),
        publisher=None,
        public=True,
        auth_method="none",
        now=now or dt.datetime.now(dt.UTC),
        client_id=DEMO_CLIENT_ID,
    )
    return registered.client, True


def describe_demo_client() -> str:
    """One line for the terminal: the client ID and how to use it."""
    return (
        f"demo OAuth client: client_id {DEMO_CLIENT_ID} (public, PKCE S256; redirect_uri "
        f"http://127.0.0.1:<any port>/callback or http://[::1]:<any port>/callback; scopes "
        f'{" ".join(DEMO_SCOPES)}): docs/api.md, "Signing in"'
    )
