"""The vendored browser files are the locked npm versions' files, with their licences.

``web/vendor/update.py`` copies them from an ``npm ci`` of ``web/vendor/package-lock.json`` and
records each file's SHA-256 and its package's tarball integrity in ``web/vendor/manifest.json``;
these tests hold the committed files to that record and the record to the lock (no network)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from web.graphiql import STATIC

VENDOR = Path(__file__).resolve().parents[2] / "web" / "vendor"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())
LOCK = json.loads((VENDOR / "package-lock.json").read_text())
PACKAGE = json.loads((VENDOR / "package.json").read_text())


@pytest.mark.parametrize("package", sorted(MANIFEST))
def test_vendored_package_is_the_locked_version_with_its_license(package: str) -> None:
    recorded = MANIFEST[package]
    locked = LOCK["packages"][f"node_modules/{package}"]
    assert PACKAGE["dependencies"][package] == locked["version"], "package.json pins exactly"
    assert recorded["version"] == locked["version"]
    assert recorded["integrity"] == locked["integrity"]
    assert recorded["directory"] == f"{package}-{locked['version']}"
    assert "LICENSE" in recorded["files"]


@pytest.mark.parametrize(
    "path",
    sorted(
        f"{entry['directory']}/{name}" for entry in MANIFEST.values() for name in entry["files"]
    ),
)
def test_vendored_file_matches_the_manifest(path: str) -> None:
    directory, name = path.split("/")
    (entry,) = [e for e in MANIFEST.values() if e["directory"] == directory]
    digest = hashlib.sha256((STATIC / "vendor" / path).read_bytes()).hexdigest()
    assert digest == entry["files"][name], f"expected {path} as npm ships it, found other bytes"


def test_nothing_else_is_vendored() -> None:
    listed = {f"{e['directory']}/{name}" for e in MANIFEST.values() for name in e["files"]}
    present = {
        str(p.relative_to(STATIC / "vendor")) for p in (STATIC / "vendor").rglob("*") if p.is_file()
    }
    assert present == listed
