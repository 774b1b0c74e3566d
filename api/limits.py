"""Limits checked before a query runs: depth, tokens, aliases, and a static cost analysis with a
per-client budget. docs/api.md explains the cost rules to app builders.

Cost, in the spirit of Shopify's and GitHub's: each object a query may return costs 1, a scalar
0; a connection costs 1 plus its rows' cost once per row it may return (``first``/``last``), a
plain list of objects its items' cost times its declared size (``strawberry.field(metadata={"list_size": N})``, 10 when
undeclared), and a field may declare its own weight (``metadata={"cost": N}``). A query over
``max_query_cost`` is refused before it runs (COST_LIMIT_EXCEEDED). Each client — the token's
subject, or the IP address when anonymous — may spend ``budget`` points per ``window_s``; past
that, RATE_LIMITED until the window resets. Budgets are kept per API process (decision 0008).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types.graphql import OperationType

from api.errors import ApiError, ErrorCode
from api.relay import MAX_PAGE
from ledger.times import rfc3339_epoch

DEFAULT_LIST_SIZE = 10
PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; ``Settings`` overrides each (CORROBORATE_API_*)."""

    max_depth: int = 12
    max_tokens: int = 3000
    max_aliases: int = 30
    max_operations: int = 5  # in one batched request
    max_body_bytes: int = 100_000
    max_json_depth: int = 32  # arrays/objects inside one another in a body or a JSON parameter
    timeout_s: float = 10.0
    max_query_cost: int = 5_000
    budget_anonymous: int = 20_000
    budget_authenticated: int = 100_000
    window_s: int = 60
    cache_size: int = 1024  # parsed and validated documents kept
    public_max_age_s: int = 30
    response_cache_bytes: int = 64 * 1024 * 1024  # per process; 0 turns the cache off

    def budget_for(self, authenticated: bool) -> int:
        return self.budget_authenticated if authenticated else self.budget_anonymous


def limits_from(settings: Any) -> Limits:
    """The limits a deployment configured (``service.settings.Settings``)."""
    return Limits(
        max_query_cost=settings.api_max_query_cost,
        budget_anonymous=settings.api_budget_anonymous,
        budget_authenticated=settings.api_budget_authenticated,
        window_s=settings.api_budget_window_s,
        timeout_s=settings.api_timeout_s,
        max_body_bytes=settings.api_max_body_bytes,
        public_max_age_s=settings.api_public_max_age_s,
        response_cache_bytes=settings.api_response_cache_bytes,
    )


# -- JSON nesting --------------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_too_deep(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep in the JSON text ``raw``
    (brackets inside strings do not count), found without parsing it: Python's parser recurses
    once per level, so ``[[[…]]]`` nested 49,000 deep inside the size cap exhausts the stack."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False  # it cannot nest deeper than it opens
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


# -- the static cost -----------------------------------------------------------------------------


def _unwrap(kind: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return kind, isinstance(kind, GraphQLList)


class _Coster:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return [self._value(v) for v in node.values]
        return None

    def _page(self, field: FieldNode) -> int | None:
        """The page size a connection field asks for (MAX_PAGE when it names none)."""
        names = {arg.name.value: arg.value for arg in field.arguments or ()}
        if not any(name in names for name in PAGE_ARGUMENTS):
            return None
        for name in PAGE_ARGUMENTS:
            if name in names:
                value = self._value(names[name])
                if value is None:
                    continue
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int)
                    or not 1 <= value <= MAX_PAGE
                ):
                    raise ApiError(
                        f"expected `{name}` in 1..{MAX_PAGE}, got {value!r}",
                        ErrorCode.BAD_USER_INPUT,
                        argument=name,
                    )
                return value
        return MAX_PAGE

    def selection(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: int | None = None
    ) -> int:
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent, page)
            elif isinstance(node, InlineFragmentNode):
                scope = parent
                if node.type_condition is not None:
                    scope = self.schema.get_type(node.type_condition.name.value) or parent
                total += self.selection(node.selection_set, scope, page)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:  # validation has refused unknown and cyclic ones
                    scope = self.schema.get_type(fragment.type_condition.name.value) or parent
                    total += self.selection(fragment.selection_set, scope, page)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, (GraphQLObjectType, GraphQLInterfaceType)
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        strawberry_field = (definition.extensions or {}).get("strawberry-definition")
        metadata = getattr(strawberry_field, "metadata", None) or {}
        named = get_named_type(definition.type)
        weight = int(metadata.get("cost", 1 if is_composite_type(named) else 0))
        if node.selection_set is None:
            return weight
        own_page = self._page(node)
        if own_page is not None:  # a connection: its edges and nodes repeat once per row
            return weight + self.selection(node.selection_set, named, own_page)
        _, is_list = _unwrap(definition.type)
        if name == "nodes" and parent.name == self.schema.query_type.name:  # type: ignore[union-attr]
            ids = {a.name.value: a.value for a in node.arguments or ()}.get("ids")
            given = self._value(ids) if ids is not None else None
            times = min(len(given), MAX_PAGE) if isinstance(given, list) else MAX_PAGE
        elif is_list and page is not None and name in ("edges", "nodes"):
            times = page
        elif is_list:
            times = int(metadata.get("list_size", DEFAULT_LIST_SIZE))
        else:
            times = 1
        return times * (weight + self.selection(node.selection_set, named))


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """The cost of the operation to run, from the document alone (nothing is executed)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[operation.operation.value]
    if root is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    coster = _Coster(schema, fragments, variables or {})
    cost = coster.selection(operation.selection_set, root)
    return max(cost, 1) if isinstance(operation, OperationDefinitionNode) else cost


# -- budgets -------------------------------------------------------------------------------------


@dataclass
class Spend:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float


class Budgets:
    """Fixed windows of ``window_s`` per client, in this process; thread-safe, bounded."""

    MAX_CLIENTS = 100_000

    def __init__(self, window_s: int, clock: Callable[[], float] = time.time) -> None:
        self.window_s = window_s
        self.clock = clock
        self._used: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def peek(self, client: str, limit: int) -> Spend:
        """The client's budget now, charging nothing (for a request refused before its cost
        was known: it still reports the real budget)."""
        now = self.clock()
        start = math.floor(now / self.window_s) * self.window_s
        with self._lock:
            window, used = self._used.get(client, (start, 0))
        if window != start:
            used = 0
        return Spend(True, limit, max(limit - used, 0), start + self.window_s)

    def spend(self, client: str, cost: int, limit: int) -> Spend:
        now = self.clock()
        start = math.floor(now / self.window_s) * self.window_s
        with self._lock:
            window, used = self._used.get(client, (start, 0))
            if window != start:
                used = 0
            if used + cost > limit:
                self._used[client] = (start, used)
                return Spend(False, limit, max(limit - used, 0), start + self.window_s)
            used += cost
            if len(self._used) >= self.MAX_CLIENTS:
                self._used = {k: v for k, v in self._used.items() if v[0] == start}
            self._used[client] = (start, used)
            return Spend(True, limit, limit - used, start + self.window_s)


class CostAnalysis(SchemaExtension):
    """Compute the query's cost before execution; refuse it or charge the client's budget."""

    def __init__(self, limits: Limits, budgets: Budgets) -> None:
        self.limits = limits
        self.budgets = budgets

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        refusal = self._check(execution, context)
        if refusal is not None:
            if execution.operation_type is OperationType.SUBSCRIPTION:
                raise refusal  # strawberry's subscription path ignores a preset result
            execution.result = ExecutionResult(data=None, errors=[refusal])
        yield

    def _check(self, execution: Any, context: Any) -> ApiError | None:
        assert execution.graphql_document is not None
        try:
            cost = query_cost(
                execution.schema._schema,
                execution.graphql_document,
                execution.operation_name,
                execution.variables,
            )
        except ApiError as exc:
            return exc
        context.operation_type = execution.operation_type
        context.charge.cost = cost
        if cost > self.limits.max_query_cost:
            report_budget(self.limits, self.budgets, context)  # refused: nothing is charged
            return ApiError(
                f"expected a query costing at most {self.limits.max_query_cost} points, got one "
                f"costing {cost}: ask for smaller pages or fewer fields",
                ErrorCode.COST_LIMIT_EXCEEDED,
                cost=cost,
                maxCost=self.limits.max_query_cost,
            )
        return charge_budget(self.limits, self.budgets, context, cost)


def report_budget(limits: Limits, budgets: Budgets, context: Any) -> None:
    """Record the caller's budget in ``context.charge`` without charging it (a refused
    request: parse, validation or limit errors still report the real budget)."""
    spent = budgets.peek(context.client, limits.budget_for(context.authenticated))
    charge = context.charge
    charge.limit, charge.remaining, charge.reset_at = spent.limit, spent.remaining, spent.reset_at


def charge_budget(limits: Limits, budgets: Budgets, context: Any, cost: int) -> ApiError | None:
    """Charge ``cost`` to the caller's budget and record it in ``context.charge``; the
    RATE_LIMITED error when the budget does not cover it (nothing is charged then)."""
    limit = limits.budget_for(context.authenticated)
    spent = budgets.spend(context.client, cost, limit)
    charge = context.charge
    charge.cost = cost
    charge.limit, charge.remaining, charge.reset_at = spent.limit, spent.remaining, spent.reset_at
    if not spent.allowed:
        return ApiError(
            f"rate limit: this query costs {cost} points and {spent.remaining} of {limit} are "
            f"left until {rfc3339_epoch(spent.reset_at)}",
            ErrorCode.RATE_LIMITED,
            cost=cost,
            resetAt=rfc3339_epoch(spent.reset_at),
        )
    return None


def extensions(limits: Limits, budgets: Budgets) -> list[Callable[[], SchemaExtension]]:
    """The schema's extensions as factories: each request gets fresh instances."""
    # The depth and alias rules are made once: each QueryDepthLimiter/MaxAliasesLimiter makes a
    # new rule class, and the validation cache is keyed by the rules, so a rule made per request
    # would mean every query is validated afresh (46% of a worker's time on `{ __typename }`).
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    return [
        lambda: ParserCache(maxsize=limits.cache_size),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=limits.cache_size),
        lambda: CostAnalysis(limits, budgets),
    ]
