"""The sign-in and consent pages: minimal server-rendered HTML, every value escaped.

The pages keep no cookie. The authorization request travels as hidden fields from page to page;
after a good password the consent page carries a short-lived signed ``consent`` token (see
api/auth/routes.py) that stands for "this account signed in for this request". The pages may
not be framed (clickjacking the Allow button) and are never cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from starlette.responses import HTMLResponse

_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
    "label{display:block;margin:.75rem 0}input[type=email],input[type=password]{width:100%;"
    "padding:.4rem}button{padding:.4rem 1rem;margin-right:.5rem}.error{color:#a00}"
)


def _page(
    title: str, body: str, status: int, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · Corroborate</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={**_HEADERS, **(headers or {})})


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )


def sign_in_page(
    *,
    client_name: str,
    params: Mapping[str, str],
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<p><strong>{escape(client_name)}</strong> asks you to sign in to Corroborate.</p>"
        f"{problem}"
        '<form method="post" action="/oauth/authorize">'
        f"{_hidden(params)}"
        '<label>Email <input type="email" name="email" autocomplete="username" required '
        f'value="{escape(email)}"></label>'
        '<label>Password <input type="password" name="password" '
        'autocomplete="current-password" required></label>'
        '<button type="submit">Sign in</button></form>'
    )
    return _page("Sign in", body, status, headers)


def consent_page(
    *,
    client_name: str,
    pseudonym: str,
    scopes: Sequence[tuple[str, str]],
    params: Mapping[str, str],
    consent: str,
) -> HTMLResponse:
    asked = "".join(
        f"<li><code>{escape(name)}</code>: {escape(description)}</li>"
        for name, description in scopes
    )
    body = (
        f"<p>Signed in as <strong>{escape(pseudonym)}</strong>.</p>"
        f"<p><strong>{escape(client_name)}</strong> would like to:</p><ul>{asked}</ul>"
        '<form method="post" action="/oauth/authorize">'
        f"{_hidden({**params, 'consent': consent})}"
        '<button type="submit" name="decision" value="allow">Allow</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>'
    )
    return _page("Allow access?", body, 200)


def error_page(message: str, status: int) -> HTMLResponse:
    return _page("This sign-in link does not work", f"<p>{escape(message)}</p>", status)
