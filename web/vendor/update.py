"""Vendor the third-party browser files of web/static/vendor/ from the npm lock beside this file.

    python web/vendor/update.py

runs ``npm ci`` on ``package.json`` and ``package-lock.json`` (exact versions, integrity hashes)
in a temporary directory, copies the files ``FILES`` names into
``web/static/vendor/<package>-<version>/`` (each with its package's LICENSE), removes what an
older version left there, and writes ``manifest.json``: each package's version, the integrity
of its npm tarball as the lock records it, and the SHA-256 of every file copied.
``tests/web/test_vendor.py`` checks the committed files against that manifest and the manifest
against the lock, so the files in the repository are provably those of the locked versions.

Only this script needs Node and the npm registry; ``make run`` serves the committed files.
To move to another version: change ``package.json``, run ``npm install --package-lock-only``
here, then this script, and commit all three with the new files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE.parent / "static" / "vendor"
MANIFEST = HERE / "manifest.json"

#: package → the files of it the pages load (paths inside the package), LICENSE always added
FILES: dict[str, tuple[str, ...]] = {
    "graphiql": ("graphiql.min.js", "graphiql.min.css"),
    "react": ("umd/react.production.min.js",),
    "react-dom": ("umd/react-dom.production.min.js",),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def locked(lock: dict, package: str) -> dict:
    """The lock's entry of a top-level package (``version``, ``integrity``)."""
    entry = lock["packages"].get(f"node_modules/{package}")
    if entry is None:
        raise SystemExit(f"expected node_modules/{package} in package-lock.json, found none")
    return dict(entry)


def main() -> int:
    lock = json.loads((HERE / "package-lock.json").read_text())
    manifest: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as work:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, Path(work) / name)
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=work, check=True
        )
        for package, files in FILES.items():
            entry = locked(lock, package)
            source = Path(work) / "node_modules" / package
            installed = json.loads((source / "package.json").read_text())["version"]
            if installed != entry["version"]:
                raise SystemExit(
                    f"expected {package} {entry['version']} from the lock, npm installed {installed}"
                )
            for old in STATIC.glob(f"{package}-*"):
                if old.name.removeprefix(f"{package}-")[:1].isdigit():
                    shutil.rmtree(old)
            target = STATIC / f"{package}-{entry['version']}"
            target.mkdir(parents=True)
            copied = {}
            for inside in (*files, "LICENSE"):
                destination = target / Path(inside).name
                shutil.copyfile(source / inside, destination)
                copied[destination.name] = sha256(destination)
            manifest[package] = {
                "version": entry["version"],
                "integrity": entry["integrity"],
                "directory": target.name,
                "files": copied,
            }
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for package, recorded in manifest.items():
        print(f"{package} {recorded['version']}: {', '.join(recorded['files'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
