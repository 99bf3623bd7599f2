"""Two-factor status, turning a method off, and new backup codes for the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from db.repositories import backup_codes as backup_code_rows
from db.repositories import totp_credentials, users
from domain.contacts_format import mask_phone
from domain.errors import TwoFactorNotEnabled, Unauthenticated
from domain.messages import kinds
from domain.messages.alerts import alert_data
from domain.names import AuditAction
from domain.passwords.reauthentication import reauthenticate
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.two_factor import backup_codes

Method = Literal["totp", "sms"]
LABELS: dict[str, str] = {"totp": "authenticator app", "sms": "SMS codes"}  # in alerts


@dataclass(frozen=True, slots=True)
class Status:
    """sms_phone: the enrolled number masked (``+1******2671``), None when SMS is off;
    backup_codes_generated: a set of backup codes exists (used up or not)."""

    totp_enabled: bool
    sms_enabled: bool
    sms_phone: str | None
    backup_codes_generated: bool
    backup_codes_remaining: int


@dataclass(frozen=True, slots=True)
class BackupCodeCount:
    """total: codes in the current set (10, or 0 when none); remaining: unused ones;
    generated_at: when the set was made, None when there is none."""

    total: int
    remaining: int
    generated_at: datetime | None


async def _user(claims: AccessClaims) -> UserRecord:
    user = await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    return user


async def status(svc: Services, claims: AccessClaims) -> Status:
    """The caller's two-factor methods. raises Unauthenticated."""
    user = await _user(claims)
    total, remaining, _ = await backup_code_rows.summary(user.id)
    phone = user.sms_two_factor_phone
    return Status(totp_enabled=user.totp_enabled_at is not None, sms_enabled=phone is not None,
                  sms_phone=mask_phone(phone) if phone else None,
                  backup_codes_generated=total > 0, backup_codes_remaining=remaining)


async def backup_code_count(svc: Services, claims: AccessClaims) -> BackupCodeCount:
    """How many backup codes the caller has left. raises Unauthenticated."""
    total, remaining, generated_at = await backup_code_rows.summary((await _user(claims)).id)
    return BackupCodeCount(total=total, remaining=remaining, generated_at=generated_at)


async def disable(svc: Services, claims: AccessClaims, *, password: str, method: Method,
                  info: RequestInfo) -> None:
    """Turn ``method`` off once ``password`` is re-checked (OWASP ASVS 3.7.1): totp deletes
    the credential, sms forgets the number. When no method is left the backup codes are
    deleted too (they would be a second factor to nothing). Audit TWO_FACTOR_DISABLED and a
    critical security alert. raises TwoFactorNotEnabled (409: ``method`` is not on; checked
    before the password), ValidationFailed (400: wrong password), RateLimited, Overloaded."""
    user = await _user(claims)
    if (user.totp_enabled_at if method == "totp" else user.sms_two_factor_phone) is None:
        raise TwoFactorNotEnabled()
    user, _ = await reauthenticate(svc, claims, password, info=info, user=user)
    async with svc.unit_of_work(info) as uow:
        left = await totp_credentials.turn_off(user.id, method, uow.now)
        if left is None:
            raise TwoFactorNotEnabled()  # a parallel request turned it off first
        last = not any(left)
        if last:
            await backup_codes.delete_all(user.id)
        uow.audit(AuditAction.TWO_FACTOR_DISABLED, user.id, method=method,
                  backup_codes_deleted=last)
        uow.send(kinds.TWO_FACTOR_DISABLED_ALERT, user=user,
                 data={**alert_data(now=uow.now, device=info), "method": LABELS[method]})


async def regenerate_backup_codes(svc: Services, claims: AccessClaims, *, password: str,
                                  info: RequestInfo) -> list[str]:
    """Replace the caller's backup codes with 10 new ones (shown once; the old ones stop
    working) once ``password`` is re-checked; audit and security alert. raises
    TwoFactorNotEnabled (409: no method is on), ValidationFailed, RateLimited, Overloaded."""
    user = await _user(claims)
    if user.totp_enabled_at is None and user.sms_two_factor_phone is None:
        raise TwoFactorNotEnabled("Turn on two-factor authentication to get backup codes.")
    user, _ = await reauthenticate(svc, claims, password, info=info, user=user)
    async with svc.unit_of_work(info) as uow:
        codes = await backup_codes.issue(uow, user.id, svc.settings)
        uow.audit(AuditAction.BACKUP_CODES_REGENERATED, user.id)
        uow.alert(kinds.BACKUP_CODES_REGENERATED_ALERT, user=user)
    return codes
