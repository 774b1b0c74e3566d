"""Publisher formats: one adapter per format, looked up by a stable id or detected by header.

Each adapter is pure (bytes in, observations out); see ``ingest.adapters.base`` for the types.
"""

from __future__ import annotations

from ingest.adapters import (
    cdc,
    ctp_all_states_history,
    ctp_states_daily,
    ecdc,
    italy_dpc,
    jhu_global,
    jhu_us,
    nyt,
    owid,
    rki_deaths,
    rki_incidence,
    who,
)
from ingest.adapters.base import (
    Adapter,
    FormatError,
    Metric,
    ParsedObservation,
    ParseResult,
    UnmappedName,
)
from ingest.adapters.table import first_line_header, preview

_ALL: tuple[Adapter, ...] = (
    jhu_global.CONFIRMED,
    jhu_global.DEATHS,
    jhu_us.CONFIRMED,
    jhu_us.DEATHS,
    who.ADAPTER,
    ecdc.ADAPTER,
    owid.ADAPTER,
    nyt.ADAPTER,
    ctp_states_daily.ADAPTER,
    ctp_all_states_history.ADAPTER,
    italy_dpc.ADAPTER,
    rki_deaths.ADAPTER,
    rki_incidence.ADAPTER,
    cdc.ADAPTER,
)

ADAPTERS: dict[str, Adapter] = {adapter.format: adapter for adapter in _ALL}

# Formats whose headers are identical; a file name can tell them apart, the content cannot.
_FILENAME_HINTS = {
    jhu_global.CONFIRMED.format: "confirmed",
    jhu_global.DEATHS.format: "deaths",
}


def get_adapter(format: str) -> Adapter:
    try:
        return ADAPTERS[format]
    except KeyError:
        raise FormatError(
            f"unknown format {format!r}: expected one of {', '.join(sorted(ADAPTERS))}"
        ) from None


def detect_format(content: bytes, filename: str | None = None) -> str:
    """The format whose header ``content`` starts with.

    The JHU global confirmed and deaths files share one header: for them ``filename`` (as
    published, e.g. ``time_series_covid19_deaths_global.csv``) decides, and without it the
    answer is ambiguous. Unknown or ambiguous content raises ``FormatError``.
    """
    header = first_line_header(content)
    if not header or header == [""]:
        raise FormatError(
            "unknown format: expected a CSV header on the first line, got "
            f"{content[:80]!r}; known formats: {', '.join(sorted(ADAPTERS))}"
        )
    candidates = [name for name, adapter in ADAPTERS.items() if adapter.header_matches(header)]
    if len(candidates) > 1 and filename is not None:
        hinted = [
            name
            for name in candidates
            if name in _FILENAME_HINTS and _FILENAME_HINTS[name] in filename.casefold()
        ]
        if len(hinted) == 1:
            return hinted[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise FormatError(
            f"unknown format: header {preview(header)!r} is none of the known formats "
            f"({', '.join(sorted(ADAPTERS))})"
        )
    raise FormatError(
        f"ambiguous format: header {preview(header)!r} fits {', '.join(candidates)}; "
        "name the format, or give the published file name"
    )


__all__ = [
    "ADAPTERS",
    "Adapter",
    "FormatError",
    "Metric",
    "ParseResult",
    "ParsedObservation",
    "UnmappedName",
    "detect_format",
    "get_adapter",
]
