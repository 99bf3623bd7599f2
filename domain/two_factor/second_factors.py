"""Checking one answer to a two-factor challenge, whatever the method: a TOTP code from an
authenticator app, an SMS code the worker sent, or a backup code. Each check uses its code
up on its own (outside any transaction) before the session it authorizes is opened."""

from __future__ import annotations

from domain import one_time_secrets
from domain.errors import InvalidOneTimeToken, OneTimeTokenExpired, TooManyAttempts
from domain.one_time_secrets import purposes
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.two_factor import backup_codes, totp

WRONG = "The code is incorrect."


async def check(svc: Services, user: UserRecord, method: str, code: str, *,
                info: RequestInfo) -> str | None:
    """None when ``code`` is a right, unused code of ``method`` (``totp`` | ``sms`` |
    ``backup``) for ``user``, which is then used up; else why not, in words for the
    InvalidCode the caller raises. A used backup code queues its alert (remaining count)."""
    if method == "totp":
        return None if await totp.check_code(svc, user, code, info=info) else WRONG
    if method == "backup":
        remaining = await backup_codes.use(svc, user, code, info=info)
        return None if remaining is not None else WRONG
    try:
        await one_time_secrets.consume_code(purposes.SMS_TWO_FACTOR, user_id=user.id,
                                            code=code, settings=svc.settings, now=svc.clock())
    except OneTimeTokenExpired:
        return "The code has expired. Ask for a new one."
    except TooManyAttempts:
        return "This code was guessed wrong too often. Ask for a new one."
    except InvalidOneTimeToken:
        return WRONG
    return None
