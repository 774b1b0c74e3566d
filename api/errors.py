"""The error codes of the API (``errors[].extensions.code``) and how unexpected errors are masked.

Every error a client can receive carries one of :class:`ErrorCode`. A resolver refuses with
``raise ApiError("…what was expected and what arrived…", ErrorCode.BAD_USER_INPUT)``. Anything
else raised while executing is a bug: the client sees ``INTERNAL_SERVER_ERROR`` with the request
id, and the log gets the traceback with the same id. docs/api.md lists the codes.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from graphql import GraphQLError

from api.logs import request_id

log = logging.getLogger("corroborate.graphql")


class ErrorCode(enum.Enum):
    """What went wrong, machine-readable; the message says it for people."""

    BAD_REQUEST = "BAD_REQUEST"  # the HTTP request is not a GraphQL request (body, JSON, params)
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"  # the document is not GraphQL
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"  # not valid against the schema/limits
    BAD_USER_INPUT = "BAD_USER_INPUT"  # an argument or variable has a bad value
    OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"  # e.g. a mutation over GET
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"  # APQ: send the query with its hash
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"  # one query costs more than any query may
    RATE_LIMITED = "RATE_LIMITED"  # the client's budget for the window is spent
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    TIMEOUT = "TIMEOUT"  # execution took longer than the limit
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ApiError(GraphQLError):
    """An error the client should see, with its code and any extra structured detail."""

    def __init__(self, message: str, code: ErrorCode, **extra: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extra})
        self.code = code


def not_found(what: str, key: object) -> ApiError:
    return ApiError(f"no {what} {key}", ErrorCode.NOT_FOUND)


def error_body(message: str, code: ErrorCode, **extra: Any) -> dict[str, Any]:
    """A formatted error for a response built outside execution (request errors)."""
    return {"message": message, "extensions": {"code": code.value, **extra}}


def code_of(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


def classify(error: GraphQLError) -> None:
    """Give ``error`` its code, in place; mask it if it is unexpected (logged with the request
    id). Called by the schema for every error, whatever the transport."""
    if code_of(error) is not None:
        return
    original = error.original_error
    if isinstance(original, ApiError):
        error.extensions = {**(error.extensions or {}), **(original.extensions or {})}
        return
    if error.path is None and error.message.startswith("Variable"):
        # a variable's value that does not coerce: graphql-core keeps the scalar's own error
        # (a ValueError from parsing "yesterday" as a DateTime) as the original error
        error.original_error = None
        error.extensions = {**(error.extensions or {}), "code": ErrorCode.BAD_USER_INPUT.value}
        return
    if original is None:
        # raised by graphql-core itself: a syntax error, a validation rule
        if error.message.startswith("Syntax Error"):
            code = ErrorCode.GRAPHQL_PARSE_FAILED
        elif error.path is None and error.message.startswith("Variable"):
            code = ErrorCode.BAD_USER_INPUT
        else:
            code = ErrorCode.GRAPHQL_VALIDATION_FAILED
        error.extensions = {**(error.extensions or {}), "code": code.value}
        return
    rid = request_id.get()
    log.error(
        "unexpected error while executing",
        exc_info=(type(original), original, original.__traceback__),
        extra={"path": list(error.path or [])},
    )
    error.message = f"Internal server error (request id {rid})"
    error.original_error = None
    error.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": rid}
