"""Accounts: sign-up, sign-in, roles and states. Functions take a session and plain values and
return plain dataclasses; every refusal is an AccountError whose message says what was expected.

An account signs in with its email (kept lowercased, shown to nobody but admins) and appears
everywhere as its pseudonym, which is unique (whatever its case) and never changes: it is the
name moderation writes on the log. Its global ID is keyed by ``public_id``, a random opaque
string that tells nothing of the account's number or of how many there are
(docs/decisions/0014-public-names.md). Roles: ``member`` (every account, from sign-up), ``moderator``,
``publisher`` (bound to one publisher) and ``admin``. States: ``active`` and ``suspended`` (a
suspended account cannot sign in, and every token it holds is revoked).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from identity import passwords, tokens
from identity.config import utc
from models.identity import Account as AccountRow
from models.identity import AccountRole
from models.ingest import Publisher

ROLES = ("member", "moderator", "publisher", "admin")
STATES = ("active", "suspended")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,31}$")
#: names the log gives to no member: ``system`` acts for the service itself
RESERVED_PSEUDONYMS = frozenset({"system"})


class AccountError(ValueError):
    """A refused request; ``status`` is the HTTP status it maps to (400, 403, 404, 409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Role:
    role: str
    publisher: str | None
    granted_at: dt.datetime
    granted_by: str


@dataclass(frozen=True)
class Account:
    id: int
    #: the opaque key of the member's global ID (never the account number)
    public_id: str
    email: str
    pseudonym: str
    state: str
    created_at: dt.datetime
    roles: tuple[Role, ...]

    @property
    def role_names(self) -> list[str]:
        return sorted(role.role for role in self.roles)

    @property
    def publisher(self) -> str | None:
        """The publisher a ``publisher`` role binds the account to."""
        return next((r.publisher for r in self.roles if r.role == "publisher"), None)

    @property
    def active(self) -> bool:
        return self.state == "active"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if len(email) > 320 or not _EMAIL.match(email):
        return f"email: expected an address such as name@example.org, got {email[:80]!r}"
    return None


def pseudonym_problem(pseudonym: str) -> str | None:
    if not _PSEUDONYM.match(pseudonym):
        return (
            "pseudonym: expected 3 to 32 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit, got {pseudonym[:40]!r}"
        )
    if pseudonym.lower() in RESERVED_PSEUDONYMS:
        return f"pseudonym: {pseudonym!r} is reserved (the service's own name): choose another"
    return None


def new_public_id() -> str:
    """A random public ID for an account (96 bits, URL-safe: 16 characters)."""
    return secrets.token_urlsafe(12)


#: what our tokens name a member by (``sub``): the account's opaque public ID, never its number
SUBJECT_PREFIX = "member:"


def subject_of(account: Account) -> str:
    """The ``sub`` of this account's tokens: ``member:<public_id>`` (reveals no account number)."""
    return SUBJECT_PREFIX + account.public_id


def public_id_of(subject: str) -> str | None:
    """The public ID a token subject names, or None if it names no member."""
    if subject.startswith(SUBJECT_PREFIX) and len(subject) > len(SUBJECT_PREFIX):
        return subject[len(SUBJECT_PREFIX) :]
    return None


# -- reading -----------------------------------------------------------------------------------


def load_account(
    db: Session,
    *,
    account_id: int | None = None,
    email: str | None = None,
    public_id: str | None = None,
) -> Account | None:
    """One account with its roles, by id, email or public ID (synchronous: for ``run_sync``)."""
    query = select(AccountRow)
    if account_id is not None:
        query = query.where(col(AccountRow.id) == account_id)
    elif email is not None:
        query = query.where(col(AccountRow.email) == normalise_email(email))
    elif public_id is not None:
        query = query.where(col(AccountRow.public_id) == public_id)
    else:
        raise ValueError("load_account needs an account_id, an email or a public_id")
    row = db.scalar(query)
    if row is None or row.id is None:
        return None
    return _account(db, row)


def _account(db: Session, row: AccountRow) -> Account:
    roles = db.scalars(
        select(AccountRole)
        .where(col(AccountRole.account_id) == row.id)
        .order_by(col(AccountRole.role))
    ).all()
    return Account(
        id=int(row.id or 0),
        public_id=row.public_id,
        email=row.email,
        pseudonym=row.pseudonym,
        state=row.state,
        created_at=utc(row.created_at),
        roles=tuple(
            Role(
                role=r.role,
                publisher=r.publisher,
                granted_at=utc(r.granted_at),
                granted_by=r.granted_by,
            )
            for r in roles
        ),
    )


async def find(
    session: AsyncSession,
    *,
    account_id: int | None = None,
    email: str | None = None,
    public_id: str | None = None,
) -> Account | None:
    return await session.run_sync(
        lambda db: load_account(db, account_id=account_id, email=email, public_id=public_id)
    )


async def list_accounts(session: AsyncSession) -> list[Account]:
    def run(db: Session) -> list[Account]:
        rows = db.scalars(select(AccountRow).order_by(col(AccountRow.id))).all()
        return [_account(db, row) for row in rows]

    return await session.run_sync(run)


async def _require(session: AsyncSession, email: str) -> Account:
    account = await find(session, email=email)
    if account is None:
        raise AccountError(f"no account has the email {normalise_email(email)!r}", status=404)
    return account


# -- sign-up and sign-in -----------------------------------------------------------------------


def sign_up_problems(*, email: str, password: str, pseudonym: str) -> list[str]:
    """Everything wrong with a sign-up's values, each saying what was expected."""
    problems = [
        p for p in (email_problem(normalise_email(email)), pseudonym_problem(pseudonym)) if p
    ]
    problems += [
        f"password: {p}"
        for p in passwords.policy_problems(
            password, email=normalise_email(email), pseudonym=pseudonym
        )
    ]
    return problems


async def hash_for_sign_up(
    *, email: str, password: str, pseudonym: str, hashing: passwords.HashParameters
) -> str:
    """Check the values (AccountError 400 listing the problems) and hash the password. Kept
    apart from ``sign_up`` so that the hashing does not hold a write transaction."""
    problems = sign_up_problems(email=email, password=password, pseudonym=pseudonym)
    if problems:
        raise AccountError("; ".join(problems))
    return await passwords.hash_password(password, hashing)


async def sign_up(
    session: AsyncSession,
    *,
    email: str,
    pseudonym: str,
    password_hash: str,
    now: dt.datetime,
    roles: tuple[str, ...] = ("member",),
    granted_by: str = "sign-up",
) -> Account:
    """Create an active account with the member role (and ``roles``); AccountError 409 when the
    email or the pseudonym is taken."""
    email = normalise_email(email)
    problem = pseudonym_problem(pseudonym)
    if problem:  # checked by hash_for_sign_up already; never an account named like the system
        raise AccountError(problem)
    taken = await session.scalar(
        select(func.count())
        .select_from(AccountRow)
        .where(col(AccountRow.pseudonym_key) == pseudonym.lower())
    )
    if taken:
        raise AccountError(f"pseudonym {pseudonym!r} is taken: choose another", status=409)
    if await session.scalar(select(col(AccountRow.id)).where(col(AccountRow.email) == email)):
        raise AccountError("an account with this email already exists: sign in", status=409)
    row = AccountRow(
        public_id=new_public_id(),
        email=email,
        pseudonym=pseudonym,
        pseudonym_key=pseudonym.lower(),
        password_hash=password_hash,
        state="active",
        created_at=now,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent sign-up took it between the check and the insert
        raise AccountError("this email or pseudonym was just taken", status=409) from None
    for role in sorted(set(roles) | {"member"}):
        session.add(
            AccountRole(account_id=row.id, role=role, granted_at=now, granted_by=granted_by)  # type: ignore[arg-type]
        )
    await session.flush()
    account = await find(session, account_id=row.id)
    assert account is not None
    return account


@dataclass(frozen=True)
class SignIn:
    """What a sign-in found: the account when the password matched (active or not)."""

    account: Account | None
    rehash: str | None = None  # a new hash to store, when the parameters changed


async def authenticate(
    session: AsyncSession, *, email: str, password: str, hashing: passwords.HashParameters
) -> SignIn:
    """Check an email and password. An unknown email costs the same time as a wrong password,
    and both give ``SignIn(None)``: the caller cannot tell them apart. A suspended account is
    returned only with its right password (``account.active`` is then False)."""
    row = await session.scalar(
        select(AccountRow).where(col(AccountRow.email) == normalise_email(email))
    )
    if row is None or len(password) > passwords.MAX_LENGTH:
        await passwords.spend_verification_time(hashing)
        return SignIn(None)
    verified = await passwords.verify_password(row.password_hash, password, hashing)
    if not verified.ok:
        return SignIn(None)
    rehash = await passwords.hash_password(password, hashing) if verified.needs_rehash else None
    return SignIn(await find(session, account_id=row.id), rehash)


async def store_rehash(session: AsyncSession, account_id: int, password_hash: str) -> None:
    row = await session.get(AccountRow, account_id)
    if row is not None:
        row.password_hash = password_hash
        await session.flush()


# -- roles and states --------------------------------------------------------------------------


async def grant_role(
    session: AsyncSession,
    *,
    email: str,
    role: str,
    granted_by: str,
    now: dt.datetime,
    publisher: str | None = None,
) -> Account:
    """Give ``role`` to the account; ``publisher`` names the publisher (required for the
    publisher role, refused for the others)."""
    if role not in ROLES:
        raise AccountError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    if (role == "publisher") != (publisher is not None):
        raise AccountError(
            "the publisher role needs --publisher SLUG"
            if role == "publisher"
            else f"only the publisher role takes a publisher, not {role}"
        )
    if publisher is not None and not await session.scalar(
        select(col(Publisher.id)).where(col(Publisher.slug) == publisher)
    ):
        raise AccountError(f"no publisher has the slug {publisher!r}", status=404)
    account = await _require(session, email)
    held = next((r for r in account.roles if r.role == role), None)
    if held is not None:
        if held.publisher != publisher:
            raise AccountError(
                f"{account.email} is already publisher for {held.publisher}: revoke it first",
                status=409,
            )
        return account
    session.add(
        AccountRole(
            account_id=account.id,
            role=role,
            publisher=publisher,
            granted_at=now,
            granted_by=granted_by,
        )
    )
    await session.flush()
    return await _require(session, email)


async def revoke_role(session: AsyncSession, *, email: str, role: str) -> Account:
    """Take ``role`` away (tokens already issued keep their roles until they expire, at most
    the access-token lifetime)."""
    if role not in ROLES:
        raise AccountError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    if role == "member":
        raise AccountError("every account is a member: suspend it instead")
    account = await _require(session, email)
    row = await session.scalar(
        select(AccountRole).where(
            col(AccountRole.account_id) == account.id, col(AccountRole.role) == role
        )
    )
    if row is None:
        raise AccountError(f"{account.email} does not hold the role {role}", status=404)
    await session.delete(row)
    await session.flush()
    return await _require(session, email)


async def suspend(session: AsyncSession, *, email: str, now: dt.datetime) -> Account:
    """Suspend the account and revoke every token family it holds (its access tokens then
    answer ``is_revoked`` True)."""
    account = await _require(session, email)
    row = await session.get(AccountRow, account.id)
    assert row is not None
    row.state = "suspended"
    await session.flush()
    await session.run_sync(
        lambda db: tokens.revoke_account_families(db, account.id, now, "account suspended")
    )
    return await _require(session, email)


async def reactivate(session: AsyncSession, *, email: str) -> Account:
    account = await _require(session, email)
    row = await session.get(AccountRow, account.id)
    assert row is not None
    row.state = "active"
    await session.flush()
    return await _require(session, email)
