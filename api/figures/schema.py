"""Root fields of the figures domain."""

from __future__ import annotations

import strawberry


@strawberry.type
class FiguresQuery:
    pass
