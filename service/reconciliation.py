"""What follows new observations, whichever front door brought them (``corroborate ingest``,
``corroborate demo load``, ``submitDocument``, ``POST /documents``): re-reconcile what they touch
and open the system challenges on the figures that run made DISPUTED.
"""

from __future__ import annotations

from typing import Any


async def reconcile_after(runtime: Any) -> dict[str, Any] | None:
    """Re-reconcile what new observations touch, once figures exist (never the first, full run:
    that is an operator's decision, ``corroborate reconcile``)."""
    from ingest.reconcile.engine import has_run, reconcile

    async with runtime.sessions() as session:
        if not await has_run(session):
            return None
    report = await reconcile(
        runtime.sessions,
        runtime.write_sessions,
        runtime.log,
        tolerances=configured_tolerances(runtime),
    )
    return await open_system_challenges(runtime, report.as_dict())


async def open_system_challenges(runtime: Any, report: dict[str, Any]) -> dict[str, Any]:
    """Open the system challenges on the figures a reconciliation run made DISPUTED
    (``moderation/store.py``) and add what was done to its report (``system_challenges``)."""
    from moderation.store import open_system_challenges as open_them

    settings = runtime.settings
    done = {"opened": 0, "skipped_open": 0, "left_over": 0}
    if report.get("new_versions") and settings.moderation_system_max_per_run:
        found = await open_them(
            runtime.write_sessions,
            runtime.log,
            int(report["run"]),
            min_spread_ratio=settings.moderation_system_min_spread_ratio,
            max_per_run=settings.moderation_system_max_per_run,
        )
        done = {
            "opened": found.opened,
            "skipped_open": found.skipped_open,
            "left_over": found.left_over,
        }
        report["log_size"] = await _log_size(runtime)
    return report | {"system_challenges": done}


async def _log_size(runtime: Any) -> int:
    async with runtime.sessions() as session:
        return int(await runtime.log.size(session))


def configured_tolerances(runtime: Any) -> dict[str, Any]:
    """The configured per-metric tolerances (CORROBORATE_RECONCILE_TOLERANCES) as Tolerances."""
    from ingest.reconcile.figures import Tolerance

    return {
        metric: Tolerance(setting.relative, setting.absolute)
        for metric, setting in runtime.settings.reconcile_tolerances.items()
    }
