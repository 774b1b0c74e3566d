"""Whether an operation's answer depends on the caller, decided from the document alone.

A field is per caller when it has a permission class or is marked ``@cacheControl(scope:
PRIVATE)`` (``api.permissions.per_caller``). An operation is per caller when it selects such a
field anywhere: directly, in a named fragment, in an inline fragment, or on an interface whose
implementation (any of them) has it per caller. The walk runs before execution, so the answer
does not depend on which resolvers happened to run (a null parent, an error) and a result is
never stored in, or served from, the shared response cache, nor sent ``Cache-Control: public``,
when it could differ between callers (docs/decisions/0013-per-caller-fields.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from api.permissions import per_caller


def _fields(schema: GraphQLSchema, parent: GraphQLNamedType, name: str) -> Iterator[GraphQLField]:
    """The definitions ``name`` may resolve to on ``parent``: on an interface, its own and
    each implementation's."""
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        own = parent.fields.get(name)
        if own is not None:
            yield own
    if isinstance(parent, GraphQLInterfaceType):
        for implementation in schema.get_possible_types(parent):
            found = implementation.fields.get(name)
            if found is not None:
                yield found


class _Walk:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.seen: set[tuple[str, str]] = set()  # (fragment, type) already walked

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> bool:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                if self.field(node, parent):
                    return True
            elif isinstance(node, InlineFragmentNode):
                scope = parent
                if node.type_condition is not None:
                    scope = self.schema.get_type(node.type_condition.name.value) or parent
                if self.selection(node.selection_set, scope):
                    return True
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is None:
                    continue  # validation refuses unknown fragments
                scope = self.schema.get_type(fragment.type_condition.name.value) or parent
                key = (fragment.name.value, scope.name)
                if key in self.seen:
                    continue
                self.seen.add(key)
                if self.selection(fragment.selection_set, scope):
                    return True
        return False

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> bool:
        name = node.name.value
        if name.startswith("__"):
            return False
        for definition in _fields(self.schema, parent, name):
            if per_caller(definition):
                return True
            if node.selection_set is not None and self.selection(
                node.selection_set, get_named_type(definition.type)
            ):
                return True
        return False


def selects_per_caller(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> bool:
    """Whether the operation to run selects any per-caller field."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return False
    root = schema.get_root_type(operation.operation)
    if root is None:
        return False
    return _Walk(schema, document).selection(operation.selection_set, root)


class CallerDependence(SchemaExtension):
    """Mark the request's result as the caller's own before it runs, when its document says so
    (``Context.uncacheable``; the view then answers ``private, no-store`` and keeps nothing)."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.graphql_document is not None and selects_per_caller(
            execution.schema._schema, execution.graphql_document, execution.operation_name
        ):
            execution.context.uncacheable = True
        yield
