"""Verify an organization's email domain for single sign-on, as the operator (issue 14).

``python -m scripts.sso_domain verify --organization ID DOMAIN``
    after checking out of band that the organization owns DOMAIN (a DNS TXT record, the
    contract): its identity provider may then create accounts in it, link existing members
    by email and vouch for their addresses, and ``/sso/start?email=`` routes it there
``python -m scripts.sso_domain unverify --organization ID DOMAIN``
``python -m scripts.sso_domain list --organization ID``
    the connection's domains, each ``verified`` or ``unverified``

Exit status: 0 done, 1 failed (one readable line), 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio

from db.repositories import sso_connections
from domain.directory.domain_verification import set_verified
from domain.errors import DomainError, NotFound
from domain.organizations.organizations import parse_id
from domain.records import SsoConnectionRecord
from domain.services import RequestInfo
from scripts.bootstrap import bootstrap, settings_or_exit

NAME = "sso_domain"
OPERATOR = RequestInfo(user_agent="python -m scripts.sso_domain")  # in the audit trail


def _lines(connection: SsoConnectionRecord) -> str:
    return "\n".join(f"{d}  {'verified' if d in connection.verified_domains else 'unverified'}"
                     for d in connection.allowed_domains)


async def run(args: argparse.Namespace) -> str:
    """The command's output. raises SystemExit(1) with one line for a domain error."""
    settings = settings_or_exit(NAME, secrets_required=False)  # nothing signed or decrypted
    container = await bootstrap(settings, pool_size=2)
    try:
        if args.command == "list":
            found = await sso_connections.of_organization(parse_id(args.organization))
            if found is None:
                raise NotFound("No identity provider is connected.")
            return _lines(found)
        connection = await set_verified(container.services, args.organization, args.domain,
                                        verified=args.command == "verify", info=OPERATOR)
        return _lines(connection)
    except DomainError as exc:
        raise SystemExit(f"latchkey {NAME}: {exc.detail}") from None
    finally:
        await container.close()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m scripts.sso_domain",
                                   description="Verify the email domains an organization's "
                                               "identity provider answers for.")
    commands = root.add_subparsers(dest="command", required=True)
    for name, text in (("verify", "the organization owns the domain (checked out of band)"),
                       ("unverify", "take the verification back"),
                       ("list", "the domains and whether each is verified")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--organization", required=True, metavar="ID")
        if name != "list":
            command.add_argument("domain", metavar="DOMAIN")
    return root


def main() -> None:
    print(asyncio.run(run(parser().parse_args())))


if __name__ == "__main__":
    main()
