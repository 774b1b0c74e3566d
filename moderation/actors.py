"""Who acts on a challenge: a member, a moderator, an admin — or the system itself.

An :class:`Actor` is built by the API layer from the caller's verified ``Identity``
(``api/auth/identity.py``): its public name (a member's pseudonym, unique and never changed;
``ext:<digest>`` for an external issuer's user), its roles and the publisher it is bound to. Only
the public name is ever written to the ledger, never an email or an account number (leaves
written before migration 0009 say ``account:<n>``: docs/ledger.md).
"""

from __future__ import annotations

from dataclasses import dataclass

#: the pseudonymous ID of the system (reconciliation opening challenges, duplicate links)
SYSTEM_ID = "system"

MEMBER = "member"
MODERATOR = "moderator"
PUBLISHER = "publisher"
ADMIN = "admin"
#: the roles an account can hold, as in ``api.auth.identity.ROLES``
ROLES = frozenset({MEMBER, MODERATOR, PUBLISHER, ADMIN})


@dataclass(frozen=True)
class Actor:
    #: the public name written to the ledger: a pseudonym, ``ext:<digest>``, or ``system``
    id: str
    roles: frozenset[str] = frozenset()
    #: the publisher's slug this account is bound to (a publisher's staff, or a moderator who
    #: works for one): it may not moderate challenges concerning that publisher
    publisher: str | None = None

    def __post_init__(self) -> None:
        unknown = self.roles - ROLES
        if unknown:
            raise ValueError(
                f"expected roles among {', '.join(sorted(ROLES))}, got {', '.join(sorted(unknown))}"
            )
        if not self.id or self.id != self.id.strip():
            raise ValueError(f"expected a public name such as 'ada', got {self.id!r}")
        if self.id == SYSTEM_ID and self.roles:
            raise ValueError("the system actor holds no roles")

    @property
    def is_system(self) -> bool:
        return self.id == SYSTEM_ID

    def has_role(self, role: str) -> bool:
        """As ``Identity.has_role``: ``admin`` holds every role."""
        return role in self.roles or ADMIN in self.roles

    def describe(self) -> str:
        """How an error message names this actor: ``ada (member, moderator)``."""
        if self.is_system:
            return "the system"
        held = ", ".join(sorted(self.roles)) or "no roles"
        bound = f", bound to publisher {self.publisher}" if self.publisher else ""
        return f"{self.id} ({held}{bound})"


#: the one system actor
SYSTEM = Actor(SYSTEM_ID)
