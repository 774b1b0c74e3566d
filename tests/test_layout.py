"""The rule of direction (docs/architecture.md), checked on every module's imports.

- ``ledger/`` imports nothing of ours but itself, and its storage half ``models/`` (decision 0001);
- the domain packages (``ingest/``, ``moderation/``, ``analytics/``, ``identity/``) and
  ``models/`` never import a front door (``api/``, ``cli/``) or ``service/``;
- ``service/`` (settings, runtime, migrations) imports no front door;
- ``web/`` imports nothing of ours (its pages read through the public GraphQL schema);
- ``api/`` never imports ``cli/``; ``cli/`` imports of ``api/`` only what serves it
  (``api.app`` to serve, ``api.schema`` to print the SDL);
- no module imports another module's private (``_name``) names, ours or in a ``from`` import.

Imports are read with ``ast`` (those inside functions and ``TYPE_CHECKING`` blocks included), so a
lazy import does not slip past.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = (
    "api",
    "cli",
    "service",
    "identity",
    "ingest",
    "moderation",
    "analytics",
    "ledger",
    "models",
)

#: package → the packages of ours it may import (itself always allowed)
ALLOWED: dict[str, set[str]] = {
    "models": set(),
    "ledger": {"models"},
    "analytics": {"models", "ledger"},
    "identity": {"models", "ledger"},
    "ingest": {"models", "ledger"},
    "moderation": {"models", "ledger", "ingest", "analytics", "identity"},
    "service": {"models", "ledger", "ingest", "moderation", "analytics", "identity"},
    "api": {"models", "ledger", "ingest", "moderation", "analytics", "identity", "service", "web"},
    # the pages read through the public GraphQL schema; the app serves them (api.app mounts web/)
    "web": set(),
    "cli": {"models", "ledger", "ingest", "moderation", "analytics", "identity", "service", "api"},
}
#: the only modules of ``api`` the command line may use
CLI_MAY_USE_OF_API = {"api.app", "api.schema"}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names imported from it) for every import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            yield node.lineno, module, [alias.name for alias in node.names]


def _ours(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in OURS else None


def test_every_package_imports_only_what_its_direction_allows() -> None:
    wrong = []
    for package, path in _modules():
        for line, module, _names in _imports(path):
            top = _ours(module)
            if top is None or top == package:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            if top not in ALLOWED[package]:
                wrong.append(where)
            elif package == "cli" and top == "api" and module not in CLI_MAY_USE_OF_API:
                wrong.append(where + f" (cli may use only {sorted(CLI_MAY_USE_OF_API)})")
    assert not wrong, "imports against the rule of direction:\n" + "\n".join(wrong)


def test_no_module_imports_another_modules_private_names() -> None:
    wrong = []
    for _package, path in [*_modules(), *(("tests", p) for p in (ROOT / "tests").rglob("*.py"))]:
        for line, module, names in _imports(path):
            if _ours(module) is None and not module.startswith(("tests", "benchmarks")):
                continue
            private = [name for name in names if name.startswith("_") and not name.startswith("__")]
            private += [part for part in module.split(".") if part.startswith("_")]
            if private:
                wrong.append(f"{path.relative_to(ROOT)}:{line} from {module} imports {private}")
    assert not wrong, "private names imported across modules:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", ["cli", "identity", "service"])
def test_front_doors_and_domains_have_their_own_packages(package: str) -> None:
    assert (ROOT / package / "__init__.py").is_file()
    assert not list((ROOT / "api").glob("cli*.py")), "the command line lives in cli/"
