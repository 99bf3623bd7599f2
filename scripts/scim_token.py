"""An organization's SCIM tokens, for the operator (issue 14).

``python -m scripts.scim_token create --organization ID [--description D]``
    prints the new token's id and the token itself, once: only its hash is kept
``python -m scripts.scim_token list --organization ID``
    one line per live token: id, created, last used, description
``python -m scripts.scim_token revoke --organization ID TOKEN_ID``

The same use cases as ``/v1/organizations/{id}/scim-tokens``, with no acting person: the
token's ``createdBy`` and the audit events' actor are empty. Exit status: 0 done, 1 failed
(one readable line: an unknown organization or token, a limit), 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from domain.directory import scim_tokens
from domain.errors import DomainError
from domain.records import ScimTokenRecord
from domain.services import RequestInfo, Services
from scripts.bootstrap import bootstrap, settings_or_exit

NAME = "scim_token"
OPERATOR = RequestInfo(user_agent="python -m scripts.scim_token")  # in the audit trail


def _line(token: ScimTokenRecord) -> str:
    used = token.last_used_at.isoformat() if token.last_used_at else "never"
    return (f"{token.id}  created {token.created_at.isoformat()}  last used {used}"
            f"  {token.description or ''}").rstrip()


async def _create(svc: Services, args: argparse.Namespace) -> str:
    token, raw = await scim_tokens.create(svc, None, args.organization, args.description,
                                          OPERATOR)
    return (f"id: {token.id}\ntoken: {raw}\n"
            "Give the token to the SCIM client now: it is not shown again.")


async def _list(svc: Services, args: argparse.Namespace) -> str:
    found = await scim_tokens.list_tokens(None, args.organization)
    return "\n".join(_line(t) for t in found) or "no SCIM tokens"


async def _revoke(svc: Services, args: argparse.Namespace) -> str:
    await scim_tokens.revoke(svc, None, args.organization, args.token_id, OPERATOR)
    return f"revoked {args.token_id}"


COMMANDS: dict[str, Callable[[Services, argparse.Namespace], Awaitable[str]]] = {
    "create": _create, "list": _list, "revoke": _revoke}


async def run(args: argparse.Namespace) -> str:
    """The command's output. raises SystemExit(1) with one line for a domain error (an
    unknown organization: "No such organization.")."""
    settings = settings_or_exit(NAME, secrets_required=False)  # SHA-256 only: no key used
    container = await bootstrap(settings, pool_size=2)
    try:
        return await COMMANDS[args.command](container.services, args)
    except DomainError as exc:
        raise SystemExit(f"latchkey {NAME}: {exc.detail}") from None
    finally:
        await container.close()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m scripts.scim_token",
                                   description="Create, list and revoke an organization's "
                                               "SCIM tokens.")
    commands = root.add_subparsers(dest="command", required=True)
    for name, text in (("create", "create a token and print it once"),
                       ("list", "list the live tokens (without the tokens)"),
                       ("revoke", "revoke a token")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--organization", required=True, metavar="ID",
                             help="the organization's id")
        if name == "create":
            command.add_argument("--description", help="what the token is for (<= 200 chars)")
        if name == "revoke":
            command.add_argument("token_id", metavar="TOKEN_ID", help="the token's id")
    return root


def main() -> None:
    print(asyncio.run(run(parser().parse_args())))


if __name__ == "__main__":
    main()
