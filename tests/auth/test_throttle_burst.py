"""Throttled sign-in under a concurrent burst: the attempt is counted before the password is
checked, atomically, so no burst gets more guesses than the limit (issue 15, item 7).

Each burst is many concurrent POSTs of the sign-in form over HTTP to the ASGI app, from one
client address. A guess that reached the password check answers 401 "Wrong email or password.";
one refused by the throttle answers 429 without checking anything. The tests' limits
(tests/auth/conftest.py): 3 failures per email, 5 per IP address.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from api.app import create_app
from identity import throttle
from identity.clients import Registered
from models.identity import LoginAttempt
from service.runtime import Runtime
from tests.auth.conftest import (
    PASSWORD,
    Pkce,
    page_error,
    sign_in_page,
    sign_up,
    submit_sign_in,
)

ACCOUNT_LIMIT, IP_LIMIT = 3, 5  # auth_signin_max_failures_account / _ip in the tests' settings
WRONG = "Wrong email or password."
THROTTLED = "Too many failed sign-ins"


@asynccontextmanager
async def from_address(runtime: Runtime, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the app whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=create_app(runtime=runtime), client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def burst(
    http: httpx.AsyncClient, fields: dict[str, str], emails: list[str], password: str
) -> Counter[str]:
    """POST every sign-in at once; how many answered each way (checked / throttled / other)."""
    answers = await asyncio.gather(
        *(submit_sign_in(http, fields, email, password) for email in emails)
    )
    outcome: Counter[str] = Counter()
    for answer in answers:
        if answer.status_code == 401 and page_error(answer.text) == WRONG:
            outcome["checked"] += 1
        elif answer.status_code == 429 and THROTTLED in page_error(answer.text):
            assert int(answer.headers["retry-after"]) >= 1
            outcome["throttled"] += 1
        else:
            outcome[f"{answer.status_code}: {page_error(answer.text)}"] += 1
    return outcome


async def attempts(runtime: Runtime, key: str) -> int:
    async with runtime.sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(LoginAttempt).where(col(LoginAttempt.key) == key)
        )
    return int(found or 0)


async def test_a_burst_of_wrong_passwords_for_one_email_gets_only_the_limit_of_guesses(
    runtime: Runtime, client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    # the IP limit is above the account limit here: only the email's limit decides
    async with from_address(runtime, "198.51.100.7") as http:
        outcome = await burst(http, fields, ["ada@example.org"] * 60, "wrong-password-x1")
    assert outcome == Counter(checked=ACCOUNT_LIMIT, throttled=60 - ACCOUNT_LIMIT), (
        f"expected {ACCOUNT_LIMIT} guesses checked and the rest throttled, got {dict(outcome)}"
    )
    assert await attempts(runtime, throttle.signin_account("ada@example.org")) == ACCOUNT_LIMIT
    # the right password from elsewhere is throttled too while the window holds them
    async with from_address(runtime, "198.51.100.8") as http:
        late = await submit_sign_in(http, fields, "ada@example.org", PASSWORD)
    assert late.status_code == 429


async def test_a_burst_over_many_emails_gets_only_what_remains_of_the_ip_limit(
    runtime: Runtime, client: httpx.AsyncClient, app_client: Registered
) -> None:
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    async with from_address(runtime, "203.0.113.9") as http:
        for number in range(3):  # 3 of the IP's 5 spent first: 2 remain
            answer = await submit_sign_in(http, fields, f"early{number}@example.org", "x" * 14)
            assert answer.status_code == 401
        emails = [f"user{number}@example.org" for number in range(60)]
        outcome = await burst(http, fields, emails, "wrong-password-x1")
    remaining = IP_LIMIT - 3
    assert outcome == Counter(checked=remaining, throttled=60 - remaining), (
        f"expected {remaining} guesses checked and the rest throttled, got {dict(outcome)}"
    )
    assert await attempts(runtime, throttle.signin_ip("203.0.113.9")) == IP_LIMIT


async def test_a_success_gives_back_its_attempt_and_clears_the_email(
    runtime: Runtime, client: httpx.AsyncClient, app_client: Registered
) -> None:
    await sign_up(client)
    fields = await sign_in_page(client, app_client.client.client_id, Pkce.new())
    async with from_address(runtime, "192.0.2.44") as http:
        for _ in range(ACCOUNT_LIMIT - 1):
            wrong = await submit_sign_in(http, fields, "ada@example.org", "x" * 14)
            assert wrong.status_code == 401
        right = await submit_sign_in(http, fields, "ada@example.org", PASSWORD)
        assert right.status_code == 200, right.text
    assert await attempts(runtime, throttle.signin_account("ada@example.org")) == 0
    # the failures still count against the address; the success does not
    assert await attempts(runtime, throttle.signin_ip("192.0.2.44")) == ACCOUNT_LIMIT - 1
