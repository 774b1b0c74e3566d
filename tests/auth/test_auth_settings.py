"""The authorization server's settings: the issuer's default and checks, and the key grace."""

from __future__ import annotations

import httpx
import pytest

from identity.clients import Registered
from service.settings import SettingsError, load_settings
from tests.auth.conftest import Pkce, authorize_query


def test_issuer_defaults_to_host_and_port() -> None:
    assert load_settings().auth_issuer == "http://127.0.0.1:8000"
    assert load_settings(host="::1", port=9000).auth_issuer == "http://[::1]:9000"
    explicit = load_settings(auth_issuer="https://corroborate.example.org/")
    assert explicit.auth_issuer == "https://corroborate.example.org"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"auth_issuer": "ftp://example.org"},
            "CORROBORATE_AUTH_ISSUER: Value error, expected an http(s) URL",
        ),
        ({"auth_issuer": "https://example.org/?x=1"}, "without query or fragment"),
        (
            {"auth_key_grace_s": 60, "auth_access_token_ttl_s": 600},
            "CORROBORATE_AUTH_KEY_GRACE_S 60 is shorter than CORROBORATE_AUTH_ACCESS_TOKEN_TTL_S 600",
        ),
    ],
)
def test_bad_auth_settings_say_what_was_expected(
    overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(**overrides)
    assert expected in str(refused.value)


async def test_sign_in_page_cannot_be_framed_or_cached(
    client: httpx.AsyncClient, app_client: Registered
) -> None:
    page = await client.get(authorize_query(app_client.client.client_id, Pkce.new()))
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers
