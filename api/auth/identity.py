"""Who is calling the API: the identity a verified bearer token carries (api/auth/resource.py).

The resource side trusts two kinds of issuer: Corroborate's own authorization server
(api/auth/server.py) and each external OpenID Connect issuer an operator configured
(api/auth/external.py). Both end in an :class:`Identity`; GraphQL resolvers and plain routes
check roles and scopes on it (api/permissions.py), never on raw claims.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the roles Corroborate knows, from the least to the most trusted
ROLES = ("member", "moderator", "publisher", "admin")


class TokenError(Exception):
    """A bearer token that is not accepted: bad signature, issuer, audience, time, revoked…

    The message says what was expected, never echoes the token."""


@dataclass(frozen=True)
class Identity:
    """A caller whose bearer token verified."""

    #: the token's ``iss``, exactly
    issuer: str
    #: the token's ``sub``: ``member:<public id>`` / ``client:<client_id>`` for our own issuer
    subject: str
    #: our roles (an external issuer's claims mapped onto them by its configuration)
    roles: frozenset[str]
    #: the ``scope`` claim's scopes (our own tokens; external ones as configured)
    scopes: frozenset[str]
    #: the publisher's slug a ``publisher`` role or machine client is bound to
    publisher: str | None = None
    #: the OAuth client the token was issued to
    client_id: str | None = None
    #: the member's account here (our own issuer's ``member:<public id>`` tokens only)
    account_id: int | None = None
    #: a public name to show (our accounts' pseudonym; an external ``preferred_username``)
    display_name: str | None = None
    #: whether the token came from our own authorization server
    own: bool = True

    @property
    def budget_key(self) -> str:
        """The key of this caller's cost budget (api/limits.py): one per subject and issuer."""
        return f"token:{self.issuer}|{self.subject}"

    def has_role(self, role: str) -> bool:
        """``admin`` holds every role."""
        return role in self.roles or "admin" in self.roles
