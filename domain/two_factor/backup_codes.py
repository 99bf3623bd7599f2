"""Backup codes: ten single-use recovery codes for when the authenticator app or phone is out
of reach (NIST SP 800-63B §5.1.2 look-up secrets; OWASP ASVS 2.6.x).

Each code is 10 characters from a 31-symbol alphabet without the look-alikes 0/O, 1/l/I
(~49.5 bits from ``secrets``), shown once as ``xxxxx-xxxxx`` and stored only as a keyed HMAC
(the short-code key, ``one_time_secrets.code_key``, with a label of its own), so a database
leak cannot be brute-forced offline (ASVS 2.6.2). Accepted with or without the dash, with
spaces, in any case.
"""

from __future__ import annotations

import secrets
import uuid

from db.engine import in_transaction
from db.repositories import backup_codes as repository
from domain.messages import kinds
from domain.messages.alerts import alert_data
from domain.names import AuditAction
from domain.one_time_secrets import code_key
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.settings import Settings
from domain.tokens import keyed_hmac
from domain.unit_of_work import UnitOfWork

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: nothing to misread
LENGTH = 10
COUNT = 10
LABEL = "backup_code"  # keeps these HMACs apart from other short codes under the same key


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize(code: str) -> str | None:
    """``code`` as stored (10 lower-case alphabet characters), or None when it cannot be a
    backup code. Drops surrounding blanks, spaces and the separating dash; any case."""
    compact = "".join(code.split()).lower()
    if compact.count("-") <= 1:
        compact = compact.replace("-", "")
    if len(compact) != LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def _hmac(settings: Settings, user_id: uuid.UUID, normalized: str) -> str:
    return keyed_hmac(code_key(settings), LABEL, str(user_id), normalized)


async def issue(uow: UnitOfWork, user_id: uuid.UUID, settings: Settings) -> list[str]:
    """Replace the user's backup codes with ``COUNT`` new ones inside the caller's unit of
    work (old codes, used or not, stop working; ``backup_codes_remaining`` = 10). Returns the
    raw codes as ``xxxxx-xxxxx``, to show once: they are not kept anywhere."""
    codes = [_new_code() for _ in range(COUNT)]
    await repository.replace(
        user_id, [_hmac(settings, user_id, c.replace("-", "")) for c in codes], uow.now)
    return codes


async def use(svc: Services, user: UserRecord, code: str, *, info: RequestInfo) -> int | None:
    """Use up one of the user's unused backup codes matching ``code`` (dash, spaces and case
    ignored). In its own transaction: the code is marked used (exactly one of parallel uses
    wins), the remaining count drops, an audit event BACKUP_CODE_USED (remaining=n) and a
    security alert saying how many remain are recorded. Returns the codes remaining, or None
    when no unused code matches (nothing is written). raises RuntimeError when called inside
    a transaction (the use must commit on its own, before whatever it authorizes)."""
    if in_transaction():
        raise RuntimeError("backup_codes.use must run outside a transaction")
    normalized = normalize(code)
    if normalized is None:
        return None
    async with svc.unit_of_work(info) as uow:
        remaining = await repository.use(user.id, _hmac(svc.settings, user.id, normalized),
                                         uow.now)
        if remaining is None:
            return None
        uow.audit(AuditAction.BACKUP_CODE_USED, user.id, remaining=remaining)
        uow.send(kinds.BACKUP_CODE_USED_ALERT, user=user,
                 data={**alert_data(now=uow.now, device=info), "remaining": remaining})
    return remaining


async def delete_all(user_id: uuid.UUID) -> None:
    """Delete every backup code of the user (two-factor turned off). Call inside a
    transaction."""
    await repository.delete_all(user_id)
