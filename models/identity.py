"""Tables of identity: accounts and their roles, OAuth clients, and what Corroborate's own
authorization server keeps (authorization codes, refresh tokens in families, revoked access
tokens, token signing keys, failed sign-ins).

No secret is stored as it was given: passwords as argon2id hashes, and authorization codes,
refresh tokens and client secrets as their SHA-256 (hex), so that a copy of the database lets
nobody sign in or redeem anything. Email addresses typed at sign-in are kept only as SHA-256 in
``login_attempt`` (people type passwords into the email field).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class Account(SQLModel, table=True):
    """A member: signs in with an email and a password, appears everywhere as a pseudonym."""

    __tablename__ = "account"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    public_id: str = Field(
        sa_column=Column(String(32), nullable=False, unique=True, index=True),
        description="A random opaque ID, the key of the member's global ID (`Member.id`): it "
        "tells nothing of the account's number or of how many accounts there are "
        "(docs/decisions/0014-public-names.md).",
    )
    email: str = Field(
        sa_column=Column(String(320), nullable=False, unique=True),
        description="Lowercased; never shown to anyone but its owner and admins.",
    )
    pseudonym: str = Field(sa_column=Column(String(32), nullable=False))
    pseudonym_key: str = Field(
        sa_column=Column(String(32), nullable=False, unique=True),
        description="The pseudonym lowercased: pseudonyms are unique whatever their case.",
    )
    password_hash: str = Field(
        sa_column=Column(Text, nullable=False), description="argon2id, PHC string format."
    )
    state: str = Field(
        sa_column=Column(String(16), nullable=False), description="active or suspended."
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AccountRole(SQLModel, table=True):
    """A role an account holds; ``publisher`` roles name the one publisher they act for."""

    __tablename__ = "account_role"
    __table_args__ = (UniqueConstraint("account_id", "role", name="uq_account_role"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    account_id: int = Field(
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    )
    role: str = Field(
        sa_column=Column(String(16), nullable=False),
        description="member, moderator, publisher or admin.",
    )
    publisher: str | None = Field(
        default=None,
        sa_column=Column(
            String(64), ForeignKey("publisher.slug", ondelete="RESTRICT"), nullable=True
        ),
        description="The publisher's slug, for the publisher role only.",
    )
    granted_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    granted_by: str = Field(
        sa_column=Column(Text, nullable=False),
        description="Who granted it: sign-up, cli:<user> or account:<id>.",
    )


class OAuthClient(SQLModel, table=True):
    """An application registered with the authorization server."""

    __tablename__ = "oauth_client"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    secret_hash: str | None = Field(
        default=None,
        sa_column=Column(String(64), nullable=True),
        description="SHA-256 (hex) of the client secret; null for a public client (PKCE only).",
    )
    name: str = Field(sa_column=Column(Text, nullable=False))
    redirect_uris: list[str] = Field(sa_column=Column(JSON, nullable=False))
    grant_types: list[str] = Field(
        sa_column=Column(JSON, nullable=False),
        description="Some of authorization_code, refresh_token, client_credentials.",
    )
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    token_endpoint_auth_method: str = Field(
        sa_column=Column(String(32), nullable=False),
        description="none (public), client_secret_basic or client_secret_post.",
    )
    publisher: str | None = Field(
        default=None,
        sa_column=Column(
            String(64), ForeignKey("publisher.slug", ondelete="RESTRICT"), nullable=True
        ),
        description="For a publisher's machine client (client credentials): the publisher.",
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuthorizationCode(SQLModel, table=True):
    """An authorization code, redeemable once before ``expires_at``."""

    __tablename__ = "authorization_code"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    code_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    client_id: str = Field(
        sa_column=Column(
            String(64), ForeignKey("oauth_client.client_id", ondelete="CASCADE"), nullable=False
        )
    )
    account_id: int = Field(
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    )
    redirect_uri: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    scope: str = Field(sa_column=Column(Text, nullable=False))
    code_challenge: str = Field(sa_column=Column(String(128), nullable=False))
    code_challenge_method: str = Field(sa_column=Column(String(8), nullable=False))
    nonce: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    auth_time: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    family_id: str | None = Field(
        default=None,
        sa_column=Column(String(64), nullable=True),
        description="The token family its redemption started: revoked if the code comes again.",
    )


class TokenFamily(SQLModel, table=True):
    """The refresh tokens descending from one authorization, and the access tokens issued with
    them (their ``sid`` claim). Revoking the family revokes all of them."""

    __tablename__ = "token_family"

    family_id: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(
        sa_column=Column(
            String(64), ForeignKey("oauth_client.client_id", ondelete="CASCADE"), nullable=False
        )
    )
    account_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    revoked_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RefreshToken(SQLModel, table=True):
    """An opaque refresh token; each use rotates it (``rotated_at``) for a new one in its family."""

    __tablename__ = "refresh_token"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    family_id: str = Field(
        sa_column=Column(
            String(64),
            ForeignKey("token_family.family_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    client_id: str = Field(
        sa_column=Column(
            String(64), ForeignKey("oauth_client.client_id", ondelete="CASCADE"), nullable=False
        )
    )
    account_id: int = Field(
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    )
    scope: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    rotated_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class RevokedAccessToken(SQLModel, table=True):
    """An access token revoked before it expired (RFC 7009), by its ``jti``."""

    __tablename__ = "revoked_access_token"

    jti: str = Field(sa_column=Column(String(64), primary_key=True))
    expires_at: dt.datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False),
        description="The token's own expiry: after it the row may be deleted.",
    )


class SigningKey(SQLModel, table=True):
    """An Ed25519 key that signs access tokens and ID tokens. The newest one not retired signs;
    retired keys stay in the JWKS for ``auth_key_grace_s``."""

    __tablename__ = "signing_key"

    kid: str = Field(sa_column=Column(String(64), primary_key=True))
    alg: str = Field(sa_column=Column(String(16), nullable=False))
    private_jwk: str = Field(
        sa_column=Column(Text, nullable=False), description="The private JWK as JSON."
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    retired_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class LoginAttempt(SQLModel, table=True):
    """One counted attempt (a failed sign-in, or a sign-up) for the throttle's windows."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_key_at", "key", "at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    key: str = Field(
        sa_column=Column(String(128), nullable=False),
        description="What is counted: signin-ip:<address>, signin-account:<sha256 of the "
        "email typed>, signup-ip:<address>.",
    )
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
