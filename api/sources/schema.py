"""Root fields of the sources domain."""

from __future__ import annotations

import strawberry


@strawberry.type
class SourcesQuery:
    pass
