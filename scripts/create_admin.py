"""Create the first admin, or make an existing account an admin.

``python -m scripts.create_admin EMAIL``               prompts for the password twice
``python -m scripts.create_admin EMAIL --send-reset``  no password: emails a reset link

A new account is created verified with the role ``admin``; an existing one is promoted
(and reactivated; its password is left alone, so nothing is prompted for). On a terminal
the new password is read without echo and must pass the password policy. ``--send-reset``
is for scripted deploys: the account gets an unusable password and a password-reset email
is queued through the outbox (the worker sends it; the link lives PASSWORD_RESET_TTL s).
Exit status: 0 done, 1 failed, 2 usage (no terminal to prompt on and no ``--send-reset``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from domain.errors import DomainError, ValidationFailed
from domain.passwords.policy import check_new_password
from domain.settings import Settings
from domain.users.provisioning import find_account, provision_admin
from scripts.bootstrap import bootstrap, settings_or_exit

PROMPTS = 3  # tries at a password the policy accepts, typed the same twice
NO_TERMINAL = ("latchkey create_admin: no terminal to prompt for a password on; run it on a "
               "terminal, or pass --send-reset to email a password-reset link instead")


def has_terminal() -> bool:
    return sys.stdin.isatty()


def prompt_password(settings: Settings, email: str) -> str:
    """Read the new password twice without echo until it passes the policy.
    raises SystemExit(1) after PROMPTS failed tries, or on end of input."""
    for _ in range(PROMPTS):
        try:
            first = getpass.getpass(f"Password for {email}: ")
            second = getpass.getpass("Same password again: ")
        except (EOFError, KeyboardInterrupt):
            raise SystemExit(1) from None
        if first != second:
            print("The passwords differ; try again.", file=sys.stderr)
            continue
        try:
            check_new_password(settings, first, email)
        except ValidationFailed as exc:
            print(f"The password {exc.errors[0][1]}; try again.", file=sys.stderr)
            continue
        return first
    raise SystemExit("latchkey create_admin: no acceptable password given")


async def run(email: str, send_reset: bool) -> str:
    """Provision the admin; returns the line to print. raises SystemExit (1 or 2)."""
    settings = settings_or_exit("create_admin")
    container = await bootstrap(settings, pool_size=2)
    try:
        try:
            existing = await find_account(email)
        except ValidationFailed as exc:
            raise SystemExit(f"latchkey create_admin: {exc.detail}") from None
        password = None
        if existing is None and not send_reset:
            if not has_terminal():
                print(NO_TERMINAL, file=sys.stderr)
                raise SystemExit(2)
            password = prompt_password(settings, email)
        try:
            done = await provision_admin(container.services, email=email, password=password,
                                         send_reset=send_reset)
        except DomainError as exc:
            raise SystemExit(f"latchkey create_admin: {exc.detail}") from None
    finally:
        await container.close()
    what = "created" if done.created else "promoted to admin"
    line = f"{done.user.email} ({done.user.id}) {what}"
    if done.reset_queued:
        line += "; a password-reset email is on its way"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.create_admin",
        description="Create an admin account, or make an existing account an admin.")
    parser.add_argument("email", help="the admin's email address")
    parser.add_argument("--send-reset", action="store_true",
                        help="set no password; email a password-reset link (no prompt)")
    args = parser.parse_args()
    print(asyncio.run(run(args.email, args.send_reset)))


if __name__ == "__main__":
    main()
