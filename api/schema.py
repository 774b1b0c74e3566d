"""The GraphQL schema: composes the root fields of each domain package, nothing more."""

from __future__ import annotations

import strawberry

from api.ledger.schema import LedgerQuery


@strawberry.type(description="Public, read-only entry points.")
class Query(LedgerQuery):
    @strawberry.field(description="The API's version.")
    def version(self) -> str:
        from importlib.metadata import version

        return version("corroborate")


schema = strawberry.Schema(query=Query)
