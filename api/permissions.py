"""Who may do what in the schema: checks on the caller's verified identity (api/auth/identity.py).

Reading public data is open to everyone. A field or mutation that needs more says so with a
strawberry permission class from here (``permission_classes=[Moderator]``; for a member's own
fields, ``[SelfOrAdmin]``, which checks the object the field is on) or calls
:func:`require_role` / :func:`require_self_or` in its resolver. Both raise the same errors: ``UNAUTHENTICATED`` for an anonymous caller,
``FORBIDDEN`` for a signed-in one without the right. A lookup by ID (``node``/``nodes``) returns
the same types, so it meets the same field checks: an ID reaches nothing a field would refuse.

A field whose answer depends on who asks is **per caller**: one with a permission class, or one
marked ``@cacheControl(scope: PRIVATE)`` (:data:`PER_CALLER`, for a field that reads the caller in
its resolver, such as ``me`` or ``rateLimit``). An operation that selects one anywhere — through
fragments, inline fragments and interfaces too — is answered ``Cache-Control: private, no-store``
and never kept in the shared response cache (``api/cache_policy.py``, decision 0013). Every check
here also marks the request at run time (``Context.uncacheable``), as a second guard.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

import strawberry
from graphql import GraphQLField
from strawberry.permission import BasePermission
from strawberry.schema_directive import Location
from strawberry.types import Info

from api.auth.identity import Identity
from api.context import Context
from api.errors import ApiError, ErrorCode


@strawberry.enum(description="Who may share a field's answer.")
class CacheControlScope(enum.Enum):
    PUBLIC = strawberry.enum_value("PUBLIC", description="The same for every caller.")
    PRIVATE = strawberry.enum_value(
        "PRIVATE",
        description="Depends on the caller: the response is `Cache-Control: private, no-store`.",
    )


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="cacheControl",
    description="How a field's answer may be cached. Fields with a permission check are "
    "PRIVATE without saying so; an operation selecting any PRIVATE field is answered "
    "`Cache-Control: private, no-store`.",
)
class CacheControl:
    scope: CacheControlScope


#: ``strawberry.field(directives=PER_CALLER)``: the field's answer depends on the caller.
PER_CALLER = [CacheControl(scope=CacheControlScope.PRIVATE)]


def per_caller(field: GraphQLField) -> bool:
    """Whether ``field``'s answer depends on the caller: a permission class, or PRIVATE."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None:
        return False
    if getattr(definition, "permission_classes", None):
        return True
    return any(
        isinstance(d, CacheControl) and d.scope is CacheControlScope.PRIVATE
        for d in getattr(definition, "directives", ()) or ()
    )


def require_identity(context: Context) -> Identity:
    """The signed-in caller; ``UNAUTHENTICATED`` when there is none."""
    context.uncacheable = True
    if context.identity is None:
        raise ApiError(
            "expected a signed-in caller (Authorization: Bearer <access token>), got an "
            "anonymous request",
            ErrorCode.UNAUTHENTICATED,
        )
    return context.identity


def require_role(context: Context, role: str, *, scope: str | None = None) -> Identity:
    """A caller holding ``role`` (``admin`` holds every role) and, for our own tokens, the
    OAuth ``scope`` that grants it; ``FORBIDDEN`` otherwise."""
    identity = require_identity(context)
    if not identity.has_role(role):
        held = ", ".join(sorted(identity.roles)) or "none"
        raise ApiError(
            f"expected a caller with the {role} role, got one with roles: {held}",
            ErrorCode.FORBIDDEN,
        )
    if scope is not None and identity.own and scope not in identity.scopes:
        raise ApiError(
            f"expected an access token with the `{scope}` scope, got scopes: "
            f"{' '.join(sorted(identity.scopes)) or 'none'}",
            ErrorCode.FORBIDDEN,
        )
    return identity


def require_self_or(context: Context, account_id: int, role: str) -> Identity:
    """The member ``account_id`` themself, or a caller with ``role``."""
    identity = require_identity(context)
    if identity.account_id == account_id or identity.has_role(role):
        return identity
    raise ApiError(
        f"expected the member themself or a caller with the {role} role",
        ErrorCode.FORBIDDEN,
    )


class _Requires(BasePermission):
    """A strawberry permission class for one role (and scope); raises our coded errors."""

    role: ClassVar[str | None] = None
    scope: ClassVar[str | None] = None
    message = "not allowed"

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        if self.role is None:
            require_identity(info.context)
        else:
            require_role(info.context, self.role, scope=self.scope)
        return True


class SignedIn(_Requires):
    """Any signed-in caller."""


class Moderator(_Requires):
    role = "moderator"
    scope = "moderate"


class Admin(_Requires):
    role = "admin"
    scope = "admin"


class Publisher(_Requires):
    role = "publisher"
    scope = "publish"


class _SelfOr(BasePermission):
    """A member's own field: the member (``source.account_id``) or a caller with ``role``."""

    role: ClassVar[str] = "admin"
    message = "not allowed"

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        require_self_or(info.context, int(source.account_id), self.role)
        return True


class SelfOrAdmin(_SelfOr):
    role = "admin"


class SelfOrModerator(_SelfOr):
    role = "moderator"
