"""Where the transparency-log conformance vectors are read from.

The shared copy (``../shared/data/conformance/tlog`` next to the repository) is the source; the
repository carries a verbatim copy in ``tests/vectors/tlog`` so the suite runs without it. With
``CORROBORATE_REQUIRE_SHARED_DATA=1`` the shared copy must be present, and its absence fails the
run instead of quietly falling back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_TLOG = Path(__file__).resolve().parents[2].parent / "shared/data/conformance/tlog"
LOCAL_TLOG = Path(__file__).resolve().parents[1] / "vectors/tlog"


def vectors_dir() -> Path:
    """Return the tlog vector directory: the shared one if present (or required), else ours."""
    if os.environ.get("CORROBORATE_REQUIRE_SHARED_DATA") == "1":
        if not SHARED_TLOG.is_dir():
            pytest.fail(
                f"CORROBORATE_REQUIRE_SHARED_DATA=1 but {SHARED_TLOG} is missing", pytrace=False
            )
        return SHARED_TLOG
    return SHARED_TLOG if SHARED_TLOG.is_dir() else LOCAL_TLOG
