"""GraphiQL at ``/graphql``, offline: the page, its example tabs and the static files it loads.

The page (``templates/graphiql.html``) loads React, ReactDOM and GraphiQL from this server's
``/static/vendor/`` (the files ``vendor/update.py`` copied from the npm lock) and one small script
of ours (``static/graphiql.js``) that mounts GraphiQL with the example queries of docs/api.md as
its tabs. The tabs travel in the page as JSON data (``<script type="application/json">``, never
executed), so a Content-Security-Policy without ``'unsafe-inline'`` holds.

GraphiQL 3 titles a tab after its operation's name; an anonymous example is given the name of
its heading in docs/api.md (``{ discrepancies … }`` under "Examples" becomes
``query Examples { discrepancies … }``), and every tab opens with a comment naming the heading.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from web.markdown import blocks

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
API_GUIDE = HERE.parent / "docs" / "api.md"
MANIFEST = HERE / "vendor" / "manifest.json"

#: the page's headers: scripts and styles only from this origin, no framing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# GraphiQL's own rule for a tab's title (fuzzyExtractOperationName in @graphiql/react)
_OPERATION_NAME = re.compile(r"^(?!#).*(query|subscription|mutation)\s+([a-zA-Z0-9_]+)", re.M)
_ANONYMOUS = re.compile(r"^(\s*(?:#[^\n]*\n\s*)*)(query\s*(?=\()|\{)")

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


@dataclass(frozen=True)
class Tab:
    """One example of docs/api.md as a GraphiQL tab."""

    title: str  # the name GraphiQL shows: the operation's, or the heading's for an anonymous one
    heading: str
    query: str
    variables: str | None

    def as_graphiql(self) -> dict[str, Any]:
        return {"query": self.query, "variables": self.variables}


def _pascal(heading: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", heading)
    name = "".join(word[:1].upper() + word[1:] for word in words)
    return name if name[:1].isalpha() else "Example" + name


def _titled(query: str, heading: str, taken: set[str]) -> tuple[str, str]:
    """The query with a name (its own, or one made of ``heading``) and that name."""
    found = _OPERATION_NAME.search(query)
    if found:
        return query, found[2]
    base = _pascal(heading or "Example")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    anonymous = _ANONYMOUS.match(query)
    if anonymous is None:  # not an operation GraphiQL could name: leave it as written
        return query, name
    opening = f"query {name}" + (" {" if anonymous[2] == "{" else "")
    return query[: anonymous.start(2)] + opening + query[anonymous.end(2) :], name


def example_tabs(path: Path = API_GUIDE) -> list[Tab]:
    """Every ```graphql block of the API guide, with the ```json variables block after it."""
    if not path.is_file():
        return []
    found = blocks(path)
    tabs: list[Tab] = []
    taken: set[str] = set()
    for position, block in enumerate(found):
        if block.lang != "graphql":
            continue
        after = found[position + 1] if position + 1 < len(found) else None
        variables = (
            after.text.strip()
            if after is not None and after.lang == "json" and "variables" in after.words
            else None
        )
        query, title = _titled(block.text.strip() + "\n", block.heading, taken)
        taken.add(title)
        comment = f"# docs/api.md: {block.heading}\n" if block.heading else ""
        tabs.append(Tab(title, block.heading, comment + query, variables))
    return tabs


@lru_cache(maxsize=1)
def _vendored() -> dict[str, str]:
    """package → its directory under /static/vendor/ (``graphiql`` → ``graphiql-3.8.3``)."""
    manifest = json.loads(MANIFEST.read_text())
    return {package: entry["directory"] for package, entry in manifest.items()}


@lru_cache(maxsize=4)
def _page(path: Path) -> str:
    tabs = [tab.as_graphiql() for tab in example_tabs(path)]
    # JSON inside <script type="application/json">: "<" escaped so no "</script>" can close it
    data = json.dumps(tabs).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _templates.get_template("graphiql.html").render(vendor=_vendored(), tabs_json=data)


def graphiql_page(_request: Request | None = None, guide: Path = API_GUIDE) -> HTMLResponse:
    """The GraphiQL page, rendered once per process (docs/api.md is read at the first request)."""
    return HTMLResponse(_page(guide), headers=SECURITY_HEADERS)


class Static(StaticFiles):
    """``web/static/`` at ``/static``: the vendored files (their directory names carry their
    versions) are cached for a year as immutable, our own files are revalidated."""

    def file_response(
        self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendored = Path(full_path).resolve().is_relative_to(STATIC / "vendor")
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if vendored else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> Static:
    return Static(directory=STATIC)
