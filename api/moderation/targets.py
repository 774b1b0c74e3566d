"""What a challenge names as its target, read from a global ID.

The API names a target one way: the global ID of what is challenged, as any query gives it
(`figure(…) { id }`, `currentVersion { id }`, an input's `observation { id }`, `document { id }`).
A figure's stable ID challenges the figure as it is now (its latest version is the version seen,
unless `versionSeen` says otherwise); a `FigureVersion`'s ID challenges the figure as that
version showed it. The log records the target as before (``moderation.challenges``: a figure as
``REGION/metric/YYYY-MM-DD``, an observation or a document by its ledger index), so challenges
filed before global IDs were accepted and after are named alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from strawberry import relay
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.figures import dataloaders as figure_loaders
from api.figures.types import figure_key, latest_of, parse_figure_key
from moderation.challenges import TargetKind

KINDS = {
    "AttestedFigure": TargetKind.FIGURE,
    "FigureVersion": TargetKind.FIGURE,
    "Observation": TargetKind.OBSERVATION,
    "Document": TargetKind.DOCUMENT,
}
_EXPECTED = (
    "expected the global ID of an AttestedFigure, a FigureVersion, an Observation or a Document "
    "(as `figure(region:, metric:, date:) { id }` gives it)"
)


@dataclass(frozen=True)
class NamedTarget:
    """A target as the log records it; ``version`` is the figure version a `FigureVersion` ID
    names (None for any other ID)."""

    kind: TargetKind
    id: str
    version: int | None = None


def _decode(raw: str, argument: str) -> relay.GlobalID:
    try:
        decoded = relay.GlobalID.from_id(raw)
    except relay.GlobalIDValueError:
        decoded = None
    if decoded is None or decoded.type_name not in KINDS:
        got = raw[:80] if decoded is None else f"a {decoded.type_name} ID"
        raise ApiError(f"{argument}: {_EXPECTED}, got {got!r}", ErrorCode.BAD_USER_INPUT)
    return decoded


def _ledger_index(type_name: str, key: str, argument: str) -> int:
    if not key.isdecimal() or len(key) > 16:
        raise ApiError(
            f"{argument}: expected a {type_name} ID (its key a ledger index), got key {key[:40]!r}",
            ErrorCode.BAD_USER_INPUT,
        )
    return int(key)


async def target_of(
    info: Info[Context, None], raw: str, *, argument: str = "targetId", must_exist: bool = True
) -> NamedTarget | None:
    """The target a global ID names; BAD_USER_INPUT for an ID of anything else. A figure
    version that does not exist is NOT_FOUND when ``must_exist``, else None (a filter by it
    finds nothing)."""
    decoded = _decode(raw, argument)
    name, key = decoded.type_name, decoded.node_id
    if name == "AttestedFigure" and not key.isdecimal():
        region, metric, day = parse_figure_key(key, argument)
        return NamedTarget(TargetKind.FIGURE, figure_key(region, metric, day))
    if name in ("AttestedFigure", "FigureVersion"):  # AttestedFigure:<digits>: an ID of before
        row = await figure_loaders.figures(info.context).load(_ledger_index(name, key, argument))
        if row is None:
            if not must_exist:
                return None
            raise ApiError(
                f"{argument}: no figure version with the ID {raw!r}", ErrorCode.NOT_FOUND
            )
        return NamedTarget(
            TargetKind.FIGURE, figure_key(row.region, row.metric, row.date), row.version
        )
    return NamedTarget(KINDS[name], str(_ledger_index(name, key, argument)))


async def latest_version(info: Info[Context, None], target: NamedTarget) -> int | None:
    """The latest version of a figure target (None when the figure has none)."""
    region, metric, day = parse_figure_key(target.id)
    row = latest_of(await figure_loaders.versions(info.context).load((region, metric, day)))
    return None if row is None else row.version
