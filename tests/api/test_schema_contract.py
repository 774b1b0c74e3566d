"""The schema is a contract: the committed schema.graphql is what the code serves, and every
type, field, argument and enum value is described."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
)

from api.schema import schema
from tests.helpers import ROOT

BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def test_committed_schema_graphql_is_current() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", (
        "schema.graphql is stale: run `corroborate schema > schema.graphql` and commit it"
    )


def test_every_type_and_field_is_described() -> None:
    missing = []
    for name, kind in schema._schema.type_map.items():
        if name.startswith("__") or name in BUILTIN_SCALARS:
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in kind.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
        if isinstance(kind, GraphQLEnumType):
            missing.extend(
                f"{name}.{value}" for value, item in kind.values.items() if not item.description
            )
    assert not missing, f"undescribed: {', '.join(missing)}"


def test_every_query_in_the_api_guide_is_valid() -> None:
    import re

    from graphql import parse, validate

    guide = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", guide, flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        errors = validate(schema._schema, parse(block))
        assert not errors, f"docs/api.md query is invalid: {errors}\n{block}"
