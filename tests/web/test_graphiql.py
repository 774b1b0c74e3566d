"""GraphiQL at /graphql works offline: every file it loads comes from the server itself, the
example queries of docs/api.md are its tabs, a query runs and the schema's descriptions show in
the docs explorer — checked in a real browser (Debian's Chromium) against a real server."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from web.graphiql import API_GUIDE, SECURITY_HEADERS, example_tabs

pytestmark = pytest.mark.slow

#: where tests/web screenshots are copied for a person to look at (besides the test's tmp dir)
SCREENSHOTS = Path("/tmp/corroborate-screenshots")


def test_graphiql_page_loads_nothing_from_a_cdn_and_forbids_inline_script(server: str) -> None:
    page = httpx.get(server + "/graphql", headers={"accept": "text/html"}, timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for cdn in ("unpkg", "jsdelivr", "cdnjs", 'src="http', 'href="http', 'src="//', 'href="//'):
        assert cdn not in page.text, f"expected no {cdn} in the GraphiQL page"
    assert "/static/vendor/graphiql-3.8.3/graphiql.min.js" in page.text


def test_vendored_files_are_served_cached_for_good_and_our_script_revalidated(server: str) -> None:
    vendored = httpx.get(server + "/static/vendor/graphiql-3.8.3/graphiql.min.js", timeout=30)
    assert vendored.status_code == 200
    assert vendored.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert vendored.headers["x-content-type-options"] == "nosniff"
    ours = httpx.get(server + "/static/graphiql.js", timeout=30)
    assert ours.status_code == 200
    assert ours.headers["cache-control"] == "no-cache"
    assert httpx.get(server + "/static/../pyproject.toml", timeout=30).status_code == 404


def test_graphql_requests_still_get_graphql_not_the_page(server: str) -> None:
    answer = httpx.get(
        server + "/graphql",
        params={"query": "{ ledger { size } }"},
        headers={"accept": "application/graphql-response+json, text/html"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["ledger"]["size"] > 0


def test_graphiql_offline_with_the_guide_s_examples_and_descriptions(
    server: str, chromium, tmp_path: Path
) -> None:
    titles = [tab.title for tab in example_tabs(API_GUIDE)]
    assert "ItalyJune" in titles and "HowEachInputWasMade" in titles, titles
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    elsewhere: list[str] = []
    requested: list[str] = []
    problems: list[str] = []

    def route(route_) -> None:  # every request; one to another host is refused and recorded
        url = route_.request.url
        requested.append(url)
        if urlsplit(url).hostname != "127.0.0.1":
            elsewhere.append(url)
            route_.abort()
        else:
            route_.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server + "/graphql")

    # the editor, with one tab per example of docs/api.md, named as the guide names it
    page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=30_000)
    shown = page.locator(".graphiql-tab").all_inner_texts()
    assert [text.strip() for text in shown] == titles
    assert (
        "# docs/api.md: How each input was made"
        in page.locator(".graphiql-query-editor .CodeMirror").inner_text()
    )

    # the guide's ItalyJune runs and its figures appear in the result pane
    page.locator(".graphiql-tab", has_text="ItalyJune").click()
    page.locator(".graphiql-tab-active", has_text="ItalyJune").wait_for()
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    editor.filter(has_text="query ItalyJune").wait_for()
    # GraphiQL reads the operation's name from the editor 100 ms after a change (a debounce):
    # running sooner sends the previous tab's name
    page.wait_for_timeout(500)
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response .CodeMirror")
    result.filter(has_text='"totalCount"').wait_for(timeout=60_000)
    text = result.inner_text()
    assert '"data"' in text and '"figures"' in text and '"errors"' not in text, text[:500]

    # the docs explorer shows the schema's descriptions
    page.get_by_role("button", name="Show Documentation Explorer").click()
    explorer = page.locator(".graphiql-doc-explorer")
    explorer.get_by_text("Query", exact=True).first.click()
    explorer.get_by_text("Public, read-only entry points.").wait_for(timeout=30_000)
    explorer.locator(".graphiql-doc-explorer-field-name", has_text="figure").first.wait_for()

    screenshot = tmp_path / "graphiql.png"
    page.screenshot(path=str(screenshot))
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copy(screenshot, SCREENSHOTS / "graphiql.png")
    context.close()

    assert not elsewhere, f"expected every request to stay on 127.0.0.1, got {elsewhere}"
    assert any("/static/vendor/graphiql-3.8.3/" in url for url in requested), requested
    assert not problems, f"expected no console errors (CSP violations included), got {problems}"
