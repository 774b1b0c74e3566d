"""The refusals of moderation's domain code: a code the API maps onto ``extensions.code`` and a
message that says what was expected and what arrived.

The codes are spelt as ``api.errors.ErrorCode``'s (``FORBIDDEN``, ``BAD_USER_INPUT``) so the API
layer maps them by value; moderation does not import ``api/`` (the direction of dependencies).
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    #: the caller may not do this: wrong role, not the filer, a conflict of interest, four-eyes
    FORBIDDEN = "FORBIDDEN"
    #: the request is wrong whoever sends it: not allowed from this state, a missing rationale,
    #: a text over its limit, a bad URL…
    BAD_USER_INPUT = "BAD_USER_INPUT"
    #: no such challenge, figure, observation or document
    NOT_FOUND = "NOT_FOUND"
    #: a member's filing limits (daily limit, per target, locked after rejections)
    RATE_LIMITED = "RATE_LIMITED"


class ModerationError(Exception):
    """A refusal a client can see. Nothing was decided and nothing is to be written."""

    def __init__(
        self, code: Code, message: str, *, field: str | None = None, **extra: object
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        #: the input field at fault, when there is one (``evidence.links[2]``, ``rationale``)
        self.field = field
        #: more for the client's ``extensions`` (a limit's name, when it lifts)
        self.extra = extra


class TransitionRefused(ModerationError):
    """A workflow action that is not allowed: see ``moderation.workflow.decide``."""


class ChallengeRefused(ModerationError):
    """A challenge that cannot be filed as given: see ``moderation.challenges``."""


class Refused(ModerationError):
    """Anything else moderation refuses: an unknown challenge, a second support, a limit."""
