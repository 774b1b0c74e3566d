"""The command line for accounts, OAuth clients and the token signing keys.

``corroborate users list|show|create-admin|grant|revoke|suspend|reactivate``,
``corroborate clients add|list`` (a client secret is printed once, when it is made) and
``corroborate auth rotate-key|keys|purge``. Every refusal is one line on stderr and exit 2; ``--json``
prints one JSON object on stdout instead of text. Emails are shown here (operators), never in
the API.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from typing import Any

from cli.common import CommandError, add_service_options, print_json, runtime_call
from ledger.times import rfc3339


def _run(args: argparse.Namespace, body: Any) -> Any:
    """``runtime_call`` with account and client refusals as one-line CommandErrors."""
    from identity.accounts import AccountError

    async def guarded(runtime: Any) -> Any:
        try:
            return await body(runtime)
        except AccountError as exc:
            raise CommandError(" ".join(str(exc).split())) from None

    return runtime_call(args, guarded)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


def _account_dict(account: Any) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "pseudonym": account.pseudonym,
        "state": account.state,
        "created_at": rfc3339(account.created_at),
        "roles": [
            {
                "role": role.role,
                "publisher": role.publisher,
                "granted_at": rfc3339(role.granted_at),
                "granted_by": role.granted_by,
            }
            for role in account.roles
        ],
    }


def _account_line(account: Any) -> str:
    roles = ", ".join(f"{r.role}:{r.publisher}" if r.publisher else r.role for r in account.roles)
    return f"{account.id}\t{account.email}\t{account.pseudonym}\t{account.state}\t{roles}"


def _show(args: argparse.Namespace, account: Any, verb: str) -> int:
    if args.json:
        print_json(_account_dict(account))
    else:
        print(f"{verb}: {_account_line(account)}")
    return 0


# -- users -------------------------------------------------------------------------------------


def cmd_users_list(args: argparse.Namespace) -> int:
    from identity.accounts import list_accounts

    async def body(runtime: Any) -> list[Any]:
        async with runtime.sessions() as session:
            return await list_accounts(session)

    found = _run(args, body)
    if args.json:
        print_json({"accounts": [_account_dict(a) for a in found]})
    else:
        for account in found:
            print(_account_line(account))
    return 0


def cmd_users_show(args: argparse.Namespace) -> int:
    from identity.accounts import AccountError, find

    async def body(runtime: Any) -> Any:
        async with runtime.sessions() as session:
            account = await find(session, email=args.email)
        if account is None:
            raise AccountError(f"no account has the email {args.email.strip().lower()!r}")
        return account

    return _show(args, _run(args, body), "account")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask for the password: give it with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the two passwords differ")
    return first


def cmd_users_create_admin(args: argparse.Namespace) -> int:
    from identity.accounts import hash_for_sign_up, sign_up

    password = _read_password(args)

    async def body(runtime: Any) -> Any:
        password_hash = await hash_for_sign_up(
            email=args.email,
            password=password,
            pseudonym=args.pseudonym,
            hashing=runtime.settings.auth_config().hashing,
        )
        async with runtime.write_sessions() as session, session.begin():
            return await sign_up(
                session,
                email=args.email,
                pseudonym=args.pseudonym,
                password_hash=password_hash,
                now=_now(),
                roles=("admin",),
                granted_by=_operator(),
            )

    return _show(args, _run(args, body), "created")


def cmd_users_grant(args: argparse.Namespace) -> int:
    from identity.accounts import grant_role

    async def body(runtime: Any) -> Any:
        async with runtime.write_sessions() as session, session.begin():
            return await grant_role(
                session,
                email=args.email,
                role=args.role,
                publisher=args.publisher,
                granted_by=_operator(),
                now=_now(),
            )

    return _show(args, _run(args, body), "granted")


def cmd_users_revoke(args: argparse.Namespace) -> int:
    from identity.accounts import revoke_role

    async def body(runtime: Any) -> Any:
        async with runtime.write_sessions() as session, session.begin():
            return await revoke_role(session, email=args.email, role=args.role)

    return _show(args, _run(args, body), "revoked")


def cmd_users_suspend(args: argparse.Namespace) -> int:
    from identity.accounts import suspend

    async def body(runtime: Any) -> Any:
        async with runtime.write_sessions() as session, session.begin():
            return await suspend(session, email=args.email, now=_now())

    return _show(args, _run(args, body), "suspended (its tokens are revoked)")


def cmd_users_reactivate(args: argparse.Namespace) -> int:
    from identity.accounts import reactivate

    async def body(runtime: Any) -> Any:
        async with runtime.write_sessions() as session, session.begin():
            return await reactivate(session, email=args.email)

    return _show(args, _run(args, body), "reactivated")


# -- clients -----------------------------------------------------------------------------------


def _client_dict(client: Any) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": client.public,
        "grant_types": client.grant_types,
        "redirect_uris": client.redirect_uris,
        "scopes": client.scopes,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "publisher": client.publisher,
        "created_at": rfc3339(client.created_at),
    }


def cmd_clients_add(args: argparse.Namespace) -> int:
    from identity.clients import register_client

    async def body(runtime: Any) -> Any:
        async with runtime.write_sessions() as session, session.begin():
            return await register_client(
                session,
                name=args.name,
                grant_types=args.grant,
                redirect_uris=args.redirect_uri or [],
                scopes=args.scope,
                publisher=args.publisher,
                public=args.public,
                auth_method=args.auth_method,
                now=_now(),
            )

    made = _run(args, body)
    if args.json:
        print_json({**_client_dict(made.client), "client_secret": made.secret})
        return 0
    print(f"client_id: {made.client.client_id}")
    if made.secret is not None:
        print(f"client_secret: {made.secret}")
        print("(shown once: only its SHA-256 is kept)")
    return 0


def cmd_clients_list(args: argparse.Namespace) -> int:
    from identity.clients import list_clients

    async def body(runtime: Any) -> list[Any]:
        async with runtime.sessions() as session:
            return await list_clients(session)

    found = _run(args, body)
    if args.json:
        print_json({"clients": [_client_dict(c) for c in found]})
        return 0
    for client in found:
        kind = "public" if client.public else client.token_endpoint_auth_method
        bound = f"\tpublisher {client.publisher}" if client.publisher else ""
        print(
            f"{client.client_id}\t{client.name}\t{kind}\t{','.join(client.grant_types)}\t"
            f"{' '.join(client.scopes)}{bound}"
        )
    return 0


# -- signing keys ------------------------------------------------------------------------------


def cmd_auth_rotate_key(args: argparse.Namespace) -> int:
    from identity import keys

    async def body(runtime: Any) -> tuple[str, list[str]]:
        async with runtime.write_sessions() as session, session.begin():
            return await session.run_sync(lambda db: keys.rotate(db, _now()))

    kid, retired = _run(args, body)
    if args.json:
        print_json({"kid": kid, "retired": retired})
    else:
        print(
            f"signing with {kid}; retired {', '.join(retired) or 'none'} (kept in the JWKS "
            "for CORROBORATE_AUTH_KEY_GRACE_S)"
        )
    return 0


def cmd_auth_purge(args: argparse.Namespace) -> int:
    from identity.maintenance import purge

    async def body(runtime: Any) -> dict[str, int]:
        settings = runtime.settings
        async with runtime.write_sessions() as session, session.begin():
            done = await purge(
                session,
                now=_now(),
                access_token_ttl_s=settings.auth_access_token_ttl_s,
                window_s=settings.auth_signin_window_s,
            )
        return done.as_dict()

    counts = _run(args, body)
    if args.json:
        print_json(counts)
    else:
        print(
            "purged " + ", ".join(f"{n:,} {what.replace('_', ' ')}" for what, n in counts.items())
        )
    return 0


def cmd_auth_keys(args: argparse.Namespace) -> int:
    from identity import keys

    async def body(runtime: Any) -> list[Any]:
        grace = runtime.settings.auth_key_grace_s
        async with runtime.sessions() as session:
            return await session.run_sync(lambda db: keys.list_keys(db, _now(), grace))

    found = _run(args, body)
    rows = [
        {
            "kid": k.kid,
            "created_at": rfc3339(k.created_at),
            "retired_at": rfc3339(k.retired_at) if k.retired_at else None,
            "published": k.published,
            "signing": k.signing,
        }
        for k in found
    ]
    if args.json:
        print_json({"keys": rows})
        return 0
    for row in rows:
        status = "signing" if row["signing"] else "published" if row["published"] else "withdrawn"
        print(
            f"{row['kid']}\t{status}\tcreated {row['created_at']}\tretired {row['retired_at'] or '-'}"
        )
    return 0


# -- parser ------------------------------------------------------------------------------------


def register(commands: Any) -> None:
    users = commands.add_parser("users", help="accounts: roles and states")
    user_cmds = users.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    lst = user_cmds.add_parser("list", help="every account with its roles")
    add_service_options(lst)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_users_list)
    for name, func, help_ in (
        ("show", cmd_users_show, "one account"),
        ("suspend", cmd_users_suspend, "suspend an account and revoke its tokens"),
        ("reactivate", cmd_users_reactivate, "let a suspended account sign in again"),
    ):
        sub = user_cmds.add_parser(name, help=help_)
        add_service_options(sub)
        sub.add_argument("email", metavar="EMAIL")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(func=func)
    admin = user_cmds.add_parser("create-admin", help="create an account with the admin role")
    add_service_options(admin)
    admin.add_argument("email", metavar="EMAIL")
    admin.add_argument("--pseudonym", required=True)
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    admin.add_argument("--json", action="store_true")
    admin.set_defaults(func=cmd_users_create_admin)
    grant = user_cmds.add_parser("grant", help="give an account a role")
    add_service_options(grant)
    grant.add_argument("email", metavar="EMAIL")
    grant.add_argument("role", metavar="ROLE", help="moderator, publisher or admin")
    grant.add_argument("--publisher", metavar="SLUG", help="for the publisher role: which one")
    grant.add_argument("--json", action="store_true")
    grant.set_defaults(func=cmd_users_grant)
    revoke = user_cmds.add_parser("revoke", help="take a role away")
    add_service_options(revoke)
    revoke.add_argument("email", metavar="EMAIL")
    revoke.add_argument("role", metavar="ROLE")
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(func=cmd_users_revoke)

    clients = commands.add_parser("clients", help="OAuth clients (apps, publishers' machines)")
    client_cmds = clients.add_subparsers(dest="clients_command", metavar="COMMAND", required=True)
    add = client_cmds.add_parser("add", help="register a client (prints its secret once)")
    add_service_options(add)
    add.add_argument("name", metavar="NAME", help="shown on the consent page")
    add.add_argument(
        "--grant",
        action="append",
        required=True,
        metavar="GRANT",
        help="authorization_code, refresh_token or client_credentials (repeatable)",
    )
    add.add_argument("--redirect-uri", action="append", metavar="URI", help="(repeatable)")
    add.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="(repeatable; default openid profile member, or publish for client_credentials)",
    )
    add.add_argument(
        "--publisher", metavar="SLUG", help="the publisher a client_credentials client acts for"
    )
    add.add_argument(
        "--public", action="store_true", help="no secret (an app that cannot keep one): PKCE only"
    )
    add.add_argument(
        "--auth-method",
        default="client_secret_basic",
        help="client_secret_basic (default) or client_secret_post",
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_clients_add)
    clist = client_cmds.add_parser("list", help="registered clients")
    add_service_options(clist)
    clist.add_argument("--json", action="store_true")
    clist.set_defaults(func=cmd_clients_list)

    auth = commands.add_parser("auth", help="the authorization server: signing keys, purge")
    auth_cmds = auth.add_subparsers(dest="auth_command", metavar="COMMAND", required=True)
    rotate = auth_cmds.add_parser(
        "rotate-key", help="sign with a new key; the old ones stay in the JWKS for the grace"
    )
    add_service_options(rotate)
    rotate.add_argument("--json", action="store_true")
    rotate.set_defaults(func=cmd_auth_rotate_key)
    klist = auth_cmds.add_parser("keys", help="the signing keys and which are published")
    add_service_options(klist)
    klist.add_argument("--json", action="store_true")
    klist.set_defaults(func=cmd_auth_keys)
    purge = auth_cmds.add_parser(
        "purge", help="delete expired codes, tokens, revocations and sign-in attempts"
    )
    add_service_options(purge)
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(func=cmd_auth_purge)
