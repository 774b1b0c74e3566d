"""Tokens from external OpenID Connect issuers (api/auth/external.py), checked against a second,
independent authlib issuer with its own keys, served over real HTTP (tests/auth/issuer.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time

import httpx
import pytest
from joserfc.jwk import RSAKey

from api.auth.external import KEYS_TTL_S, REFETCH_MIN_S, STALE_MAX_S, ExternalIssuers
from api.auth.identity import Identity, TokenError
from service.settings import ExternalIssuerSetting, SettingsError, load_settings
from tests.auth.issuer import AUDIENCE, SecondIssuer


class Clock:
    """Monotonic seconds for the key cache, moved by the test."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def trusting(
    second: SecondIssuer, clock: Clock | None = None, **options: object
) -> ExternalIssuers:
    """ExternalIssuers as the app builds it: from the setting an operator writes."""
    settings = load_settings(auth_external_issuers=[second.setting(**options)])
    return ExternalIssuers.from_settings(settings, clock=clock or Clock())


async def refused(external: ExternalIssuers, token: str, issuer: str) -> str:
    """The message of the TokenError ``token`` meets; it never quotes the token."""
    with pytest.raises(TokenError) as error:
        await external.verify(token, issuer)
    message = str(error.value)
    assert token not in message
    for part in token.split("."):
        assert len(part) < 16 or part not in message
    return message


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, object], payload_of: str, secret: bytes | None) -> str:
    """A token with ``header``, the payload of the token ``payload_of``, and an HMAC-SHA256
    signature keyed with ``secret`` (none at all when None)."""
    signing_input = b64(json.dumps(header).encode()) + "." + payload_of.split(".")[1]
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


# -- accepted --------------------------------------------------------------------------------------


async def test_token_from_a_configured_issuer_is_accepted_with_roles_from_its_claims(
    external_issuer: SecondIssuer,
) -> None:
    external = trusting(external_issuer)
    assert external.trusts(external_issuer.issuer)
    token = external_issuer.token(
        sub="c0ffee00-1111-4222-8333-444455556666",
        roles=["offline_access", "cb-moderator", "uma_authorization"],
    )

    identity = await external.verify(token, external_issuer.issuer)

    assert identity == Identity(
        issuer=external_issuer.issuer,
        subject="c0ffee00-1111-4222-8333-444455556666",
        roles=frozenset({"member", "moderator"}),
        scopes=frozenset({"openid", "profile", "email"}),
        publisher=None,
        client_id="health-portal",
        account_id=None,
        display_name="ada.lovelace",
        own=False,
    )
    assert identity.budget_key == f"token:{external_issuer.issuer}|{identity.subject}"


async def test_token_from_the_issuers_token_endpoint_is_accepted(
    external_issuer: SecondIssuer,
) -> None:
    """The whole way: client credentials at the second issuer's authlib token endpoint, then
    its RFC 9068 access token (typ at+jwt) verified with keys discovered over HTTP."""
    robot = external_issuer.add_client("agency-robot", roles=["cb-admin"])
    async with httpx.AsyncClient() as http:
        response = await http.post(
            external_issuer.token_endpoint,
            data={"grant_type": "client_credentials"},
            headers={"authorization": external_issuer.basic_auth(robot)},
        )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]

    identity = await trusting(external_issuer).verify(token, external_issuer.issuer)

    assert identity.subject == "agency-robot"
    assert identity.client_id == "agency-robot"
    assert identity.roles == {"member", "admin"}
    assert identity.has_role("moderator")
    assert identity.display_name == "service-account-agency-robot"
    assert external_issuer.discovery_requests == 1
    assert external_issuer.jwks_requests == 1


async def test_unmapped_roles_are_ignored_and_every_caller_is_a_member(
    external_issuer: SecondIssuer,
) -> None:
    external = trusting(external_issuer)
    for roles in ([], ["admin", "moderator", "realm-admin"]):  # their names, not ours
        identity = await external.verify(external_issuer.token(roles=roles), external_issuer.issuer)
        assert identity.roles == {"member"}
    no_claim = external_issuer.token(realm_access=None, preferred_username=None, azp=None)
    identity = await external.verify(no_claim, external_issuer.issuer)
    assert (identity.roles, identity.display_name, identity.client_id) == ({"member"}, None, None)


async def test_roles_and_scopes_at_the_configured_claims(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer, roles_claim="groups", scope_claim="scp")
    token = external_issuer.token(groups=["cb-moderator"], scp=["read", "write"])
    identity = await external.verify(token, external_issuer.issuer)
    assert identity.roles == {"member", "moderator"}
    assert identity.scopes == {"read", "write"}


async def test_publisher_role_is_bound_to_a_publisher_the_issuer_may_speak_for(
    external_issuer: SecondIssuer,
) -> None:
    external = trusting(external_issuer)
    token = external_issuer.token(roles=["cb-publisher"], corroborate_publisher="who")
    identity = await external.verify(token, external_issuer.issuer)
    assert (identity.roles, identity.publisher) == ({"member", "publisher"}, "who")

    other = external_issuer.token(roles=["cb-publisher"], corroborate_publisher="ecdc")
    message = await refused(external, other, external_issuer.issuer)
    assert "corroborate_publisher` claim of a token with a publisher role to name one of who" in (
        message
    )
    unbound = external_issuer.token(roles=["cb-publisher"])
    assert message.replace("'ecdc'", "none") == await refused(
        external, unbound, external_issuer.issuer
    )


async def test_audience_may_be_one_of_several(external_issuer: SecondIssuer) -> None:
    token = external_issuer.token(aud=["account", AUDIENCE])
    assert (await trusting(external_issuer).verify(token, external_issuer.issuer)).subject


# -- refused ---------------------------------------------------------------------------------------


async def test_issuer_not_configured_is_not_trusted(external_issuer: SecondIssuer) -> None:
    nobody = ExternalIssuers.from_settings(load_settings())
    assert not nobody.trusts(external_issuer.issuer)
    message = await refused(nobody, external_issuer.token(), external_issuer.issuer)
    assert message == (
        f"expected a token from an issuer this deployment trusts; {external_issuer.issuer!r} is "
        "not one"
    )
    assert external_issuer.discovery_requests == external_issuer.jwks_requests == 0
    # exactly the configured URL: no trailing-slash or case games
    external = trusting(external_issuer)
    assert not external.trusts(external_issuer.issuer + "/")
    assert not external.trusts(external_issuer.issuer.upper())


async def test_alg_none_is_refused(external_issuer: SecondIssuer) -> None:
    valid = external_issuer.token(roles=["cb-admin"])
    token = forged({"alg": "none", "typ": "JWT"}, valid, None)
    message = await refused(trusting(external_issuer), token, external_issuer.issuer)
    assert message == (
        f"expected a token from {external_issuer.issuer} signed with one of RS256, ES256, EdDSA, "
        "got alg 'none'"
    )


@pytest.mark.parametrize("as_", ["pem", "jwk"])
async def test_hs256_keyed_with_the_issuers_public_key_is_refused(
    external_issuer: SecondIssuer, as_: str
) -> None:
    public = external_issuer.signing_key
    secret = (
        public.as_pem(private=False)
        if as_ == "pem"
        else json.dumps(public.as_dict(private=False)).encode()
    )
    valid = external_issuer.token(roles=["cb-admin"])
    token = forged({"alg": "HS256", "typ": "JWT", "kid": public.kid}, valid, secret)
    message = await refused(trusting(external_issuer), token, external_issuer.issuer)
    assert "signed with one of RS256, ES256, EdDSA, got alg 'HS256'" in message


async def test_hs256_is_refused_even_if_a_setting_slipped_past_validation(
    external_issuer: SecondIssuer,
) -> None:
    """The verifier does not lean on the settings' check alone."""
    unchecked = ExternalIssuerSetting.model_construct(
        **(
            ExternalIssuerSetting(**external_issuer.setting()).model_dump()
            | {"algorithms": ("HS256",)}
        )
    )
    external = ExternalIssuers([unchecked], clock=Clock())
    pem = external_issuer.signing_key.as_pem(private=False)
    token = forged({"alg": "HS256", "typ": "JWT"}, external_issuer.token(), pem)
    message = await refused(external, token, external_issuer.issuer)
    assert message == "expected a token signed with a public-key algorithm, got alg HS256"


async def test_expired_token_is_accepted_within_the_leeway_only(
    external_issuer: SecondIssuer,
) -> None:
    external = trusting(external_issuer, leeway_s=30)
    just_expired = external_issuer.token(exp_in=-10)
    assert (await external.verify(just_expired, external_issuer.issuer)).subject
    expired = external_issuer.token(exp_in=-60)
    message = await refused(external, expired, external_issuer.issuer)
    assert message.startswith("expected an unexpired token: it expired at ")
    assert message.endswith("leeway 30 s)")
    strict = trusting(external_issuer, leeway_s=0)
    assert "unexpired" in await refused(strict, just_expired, external_issuer.issuer)


async def test_token_not_yet_valid_is_refused(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer, leeway_s=30)
    now = int(time.time())
    soon = external_issuer.token(nbf=now + 10)
    assert (await external.verify(soon, external_issuer.issuer)).subject
    later = external_issuer.token(nbf=now + 120, exp_in=600)
    message = await refused(external, later, external_issuer.issuer)
    assert message.startswith(f"expected a token already valid: nbf is {now + 120} (now ")
    from_the_future = external_issuer.token(iat=now + 120, exp_in=600)
    message = await refused(external, from_the_future, external_issuer.issuer)
    assert message.startswith(f"expected a token issued in the past: iat is {now + 120}")


async def test_wrong_audience_is_refused(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer)
    for aud in ("account", ["account", "broker"]):
        message = await refused(external, external_issuer.token(aud=aud), external_issuer.issuer)
        assert message.startswith("expected aud to include 'corroborate-api', got ")
    message = await refused(external, external_issuer.token(aud=None), external_issuer.issuer)
    assert message == "expected a token with the claims aud; it lacks them"


async def test_wrong_issuer_claim_is_refused(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer)
    elsewhere = external_issuer.token(iss="https://login.example.org/realms/health")
    message = await refused(external, elsewhere, external_issuer.issuer)
    assert message == (
        f"expected iss {external_issuer.issuer!r}, got 'https://login.example.org/realms/health'"
    )


async def test_another_issuers_key_cannot_speak_for_this_issuer(
    external_issuer: SecondIssuer,
) -> None:
    """A token claiming the trusted ``iss`` but signed elsewhere: an unknown kid, or the
    trusted kid with a signature that does not check."""
    external = trusting(external_issuer)
    impostor = RSAKey.generate_key(2048, private=True, parameters={"kid": "impostor"})
    own_kid = external_issuer.token(key=impostor)
    message = await refused(external, own_kid, external_issuer.issuer)
    assert message.startswith(f"expected a token signed with one of {external_issuer.issuer}'s")
    assert message.endswith("got kid 'impostor'")
    borrowed_kid = external_issuer.token(
        key=impostor, header={"kid": external_issuer.signing_key.kid}
    )
    message = await refused(external, borrowed_kid, external_issuer.issuer)
    assert message.startswith(f"expected a token signed by {external_issuer.issuer}: the signature")


async def test_tampered_payload_is_refused(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer)
    header, payload, signature = external_issuer.token(roles=["offline_access"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["realm_access"]["roles"] = ["cb-admin"]
    tampered = ".".join([header, b64(json.dumps(claims).encode()), signature])
    message = await refused(external, tampered, external_issuer.issuer)
    assert message == (
        f"expected a token signed by {external_issuer.issuer}: the signature does not match its "
        f"key {external_issuer.signing_key.kid}"
    )


async def test_missing_subject_and_expiry_are_refused(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer)
    message = await refused(
        external, external_issuer.token(sub=None, exp=None), external_issuer.issuer
    )
    assert message == "expected a token with the claims exp, sub; it lacks them"


async def test_id_and_refresh_tokens_are_not_access_tokens(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer)
    id_token = external_issuer.token(typ="ID")
    message = await refused(external, id_token, external_issuer.issuer)
    assert message == "expected an access token (typ claim Bearer), got typ 'ID'"
    logout = external_issuer.token(header={"typ": "logout+jwt"})
    message = await refused(external, logout, external_issuer.issuer)
    assert message == "expected an access token (typ JWT or at+jwt), got typ 'logout+jwt'"


async def test_garbage_is_refused_without_fetching_keys(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer)
    _, payload, signature = external_issuer.token().split(".")
    for token in ("not-a-jwt", "a.b.c", f"{b64(b'[1, 2]')}.{payload}.{signature}"):
        await refused(external, token, external_issuer.issuer)
    assert external_issuer.jwks_requests == 0


# -- the issuer's keys -----------------------------------------------------------------------------


async def test_rotated_key_is_fetched_but_made_up_kids_do_not_hammer_the_issuer(
    external_issuer: SecondIssuer,
) -> None:
    clock = Clock()
    external = trusting(external_issuer, clock)
    await external.verify(external_issuer.token(), external_issuer.issuer)
    assert external_issuer.jwks_requests == 1

    clock.advance(REFETCH_MIN_S + 1)
    new_kid = external_issuer.rotate_key(keep_old=False)
    identity = await external.verify(external_issuer.token(), external_issuer.issuer)
    assert identity.subject
    assert external_issuer.jwks_requests == 2  # the unknown kid fetched the keys again

    bogus = external_issuer.token(header={"kid": "made-up"})
    for _ in range(5):
        assert "got kid 'made-up'" in await refused(external, bogus, external_issuer.issuer)
    assert external_issuer.jwks_requests == 2  # fetched a moment ago: not again

    clock.advance(REFETCH_MIN_S + 1)
    for _ in range(5):
        await refused(external, bogus, external_issuer.issuer)
    assert external_issuer.jwks_requests == 3  # once per REFETCH_MIN_S, however many tokens
    assert external_issuer.discovery_requests == 3
    assert (await external.verify(external_issuer.token(), external_issuer.issuer)).subject
    assert external_issuer.signing_key.kid == new_kid


async def test_key_rotated_moments_after_a_fetch_is_seen_once_the_interval_passed(
    external_issuer: SecondIssuer,
) -> None:
    clock = Clock()
    external = trusting(external_issuer, clock)
    await external.verify(external_issuer.token(), external_issuer.issuer)
    external_issuer.rotate_key()
    fresh = external_issuer.token()
    assert "got kid" in await refused(external, fresh, external_issuer.issuer)
    clock.advance(REFETCH_MIN_S + 1)
    assert (await external.verify(fresh, external_issuer.issuer)).subject
    assert external_issuer.jwks_requests == 2


async def test_keys_are_fetched_again_after_their_ttl_and_retired_keys_stop_verifying(
    external_issuer: SecondIssuer,
) -> None:
    clock = Clock()
    external = trusting(external_issuer, clock)
    old = external_issuer.token(exp_in=3 * 3600)
    await external.verify(old, external_issuer.issuer)
    clock.advance(KEYS_TTL_S - 1)
    await external.verify(old, external_issuer.issuer)
    assert external_issuer.jwks_requests == 1

    external_issuer.rotate_key(keep_old=False)
    clock.advance(2)
    assert "got kid" in await refused(external, old, external_issuer.issuer)
    assert external_issuer.jwks_requests == 2


async def test_concurrent_requests_share_one_fetch(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer)
    tokens = [external_issuer.token(sub=f"user-{n}") for n in range(20)]
    identities = await asyncio.gather(
        *(external.verify(token, external_issuer.issuer) for token in tokens)
    )
    assert [identity.subject for identity in identities] == [f"user-{n}" for n in range(20)]
    assert (external_issuer.discovery_requests, external_issuer.jwks_requests) == (1, 1)


async def test_configured_jwks_uri_skips_discovery(external_issuer: SecondIssuer) -> None:
    external = trusting(external_issuer, jwks_uri=external_issuer.jwks_uri)
    assert (await external.verify(external_issuer.token(), external_issuer.issuer)).subject
    assert (external_issuer.discovery_requests, external_issuer.jwks_requests) == (0, 1)


async def test_unreachable_issuer_is_reported_and_not_retried_at_once(
    external_issuer: SecondIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    external = trusting(external_issuer, clock)
    external_issuer.available = False
    token = external_issuer.token()
    with caplog.at_level(logging.WARNING, logger="api.auth.external"):
        message = await refused(external, token, external_issuer.issuer)
    assert message.startswith(f"the keys of {external_issuer.issuer} could not be fetched (")
    assert "expected 200 from" in message and "got 503" in message
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(token not in w and token.split(".")[2] not in w for w in warnings)
    assert f"could not fetch the keys of external issuer {external_issuer.issuer}" in warnings[0]

    await refused(external, token, external_issuer.issuer)
    assert external_issuer.discovery_requests == 1  # not retried within REFETCH_MIN_S
    external_issuer.available = True
    clock.advance(REFETCH_MIN_S + 1)
    assert (await external.verify(token, external_issuer.issuer)).subject


async def test_keys_last_fetched_serve_through_an_outage_for_a_while(
    external_issuer: SecondIssuer,
) -> None:
    clock = Clock()
    external = trusting(external_issuer, clock)
    token = external_issuer.token(exp_in=2 * 3600)
    await external.verify(token, external_issuer.issuer)
    external_issuer.available = False
    clock.advance(KEYS_TTL_S + 1)
    assert (await external.verify(token, external_issuer.issuer)).subject  # stale, still served
    assert external_issuer.discovery_requests == 2
    clock.advance(STALE_MAX_S)
    assert "could not be fetched" in await refused(external, token, external_issuer.issuer)


async def test_discovery_naming_another_issuer_is_refused(external_issuer: SecondIssuer) -> None:
    """The discovery document must name the configured issuer exactly (OIDC Discovery §4.3)."""
    slash = external_issuer.issuer + "/"
    external = trusting(external_issuer, issuer=slash)
    token = external_issuer.token(iss=slash)
    message = await refused(external, token, slash)
    assert f"to name the issuer {slash}, got {external_issuer.issuer!r}" in message


# -- the setting -----------------------------------------------------------------------------------

KEYCLOAK = {
    "issuer": "https://login.example.org/realms/health",
    "audience": "corroborate-api",
    "roles_claim": "realm_access.roles",
    "role_map": {"corroborate-moderator": "moderator"},
}


def test_keycloak_example_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORROBORATE_AUTH_EXTERNAL_ISSUERS", json.dumps([KEYCLOAK]))
    (entry,) = load_settings().auth_external_issuers
    assert entry.issuer == "https://login.example.org/realms/health"
    assert entry.jwks_uri is None
    assert entry.algorithms == ("RS256", "ES256", "EdDSA")
    assert (entry.leeway_s, entry.scope_claim) == (30, "scope")
    assert load_settings(auth_external_issuers=[]).auth_external_issuers == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"algorithms": ["RS256", "HS256"]},
            "CORROBORATE_AUTH_EXTERNAL_ISSUERS.0.ALGORITHMS: Value error, HS256 is refused for "
            "an external issuer: expected asymmetric algorithms only",
        ),
        ({"algorithms": ["none"]}, "none is refused for an external issuer"),
        ({"algorithms": ["RS1"]}, "unknown algorithm RS1: expected some of RS256"),
        ({"algorithms": []}, "ALGORITHMS: Tuple should have at least 1 item"),
        ({"issuer": "http://login.example.org/realms/health"}, "http only on a loopback host"),
        ({"jwks_uri": "ftp://login.example.org/certs"}, "JWKS_URI: Value error, expected an https"),
        ({"audience": ""}, "AUDIENCE: String should have at least 1 character"),
        ({"leeway_s": 301}, "LEEWAY_S: Input should be less than or equal to 300"),
        ({"role_map": {"x": "root"}}, "Input should be 'member', 'moderator', 'publisher' or"),
        ({"roles_claim": "realm_access..roles"}, "ROLES_CLAIM: String should match pattern"),
        ({"audiences": "x"}, "AUDIENCES: Extra inputs are not permitted"),
        (
            {"role_map": {"corroborate-publisher": "publisher"}},
            "a role mapped to publisher needs publisher_claim (the claim naming the publisher) "
            "and publishers",
        ),
    ],
)
def test_bad_external_issuer_settings_say_what_was_expected(
    change: dict[str, object], expected: str
) -> None:
    with pytest.raises(SettingsError) as refused_setting:
        load_settings(auth_external_issuers=[KEYCLOAK | change])
    assert expected in str(refused_setting.value)
    assert "\n" not in str(refused_setting.value)


def test_each_issuer_once_and_never_our_own() -> None:
    with pytest.raises(SettingsError, match="expected each issuer once"):
        load_settings(auth_external_issuers=[KEYCLOAK, KEYCLOAK])
    with pytest.raises(SettingsError) as refused_setting:
        load_settings(
            auth_issuer="https://corroborate.example.org",
            auth_external_issuers=[KEYCLOAK | {"issuer": "https://corroborate.example.org"}],
        )
    assert str(refused_setting.value) == (
        "CORROBORATE_AUTH_EXTERNAL_ISSUERS names https://corroborate.example.org, which is "
        "CORROBORATE_AUTH_ISSUER: our own tokens are verified with our own keys only"
    )
    with pytest.raises(SettingsError, match="which is CORROBORATE_AUTH_ISSUER"):  # the default
        load_settings(auth_external_issuers=[KEYCLOAK | {"issuer": "http://127.0.0.1:8000"}])
