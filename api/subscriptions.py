"""The root Subscription type: composes the subscriptions of each domain package.

Subscriptions are served over websockets with the graphql-transport-ws protocol only; their
events come from the process's event hub (api/events.py), fed by committed writes.
"""

from __future__ import annotations

import strawberry

from api.figures.subscriptions import FiguresSubscription
from api.ledger.subscriptions import LedgerSubscription
from api.moderation.subscriptions import ModerationSubscription


@strawberry.type(description="Changes pushed to a client as they are committed (websocket).")
class Subscription(LedgerSubscription, FiguresSubscription, ModerationSubscription):
    pass
