"""TOTP (RFC 6238) with any authenticator app: enrolment, verification and the code check the
sign-in challenge uses.

Codes: 6 digits, 30 s steps, HMAC-SHA1 (RFC 6238 defaults, what every authenticator app
does), the current step ±1 accepted for clock drift (RFC 6238 §5.2). Each step is accepted
at most once per user: the last accepted step is stored and advanced by a conditional UPDATE,
so a code cannot be replayed, not even by two parallel requests (OWASP ASVS 2.8.4). Seeds are
160 random bits (RFC 4226 §4 R6) and rest Fernet-encrypted (``domain/encryption.py``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime

import pyotp

from db.engine import in_transaction
from db.repositories import totp_credentials, users
from domain.encryption import SecretBox
from domain.errors import InvalidCode, TotpAlreadyEnabled, TotpNotPending, Unauthenticated
from domain.messages import kinds
from domain.messages.alerts import alert_data
from domain.names import AuditAction
from domain.passwords.reauthentication import reauthenticate
from domain.qr import qr_data_url
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.tokens import AccessClaims
from domain.two_factor import backup_codes

DIGITS = 6
PERIOD = 30  # seconds per step
DRIFT = 1  # steps accepted either side of the current one
METHOD_LABEL = "authenticator app"  # how alerts name the method


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (Unix seconds // 30) within ±1 of ``now`` whose code is ``code``, or
    None. ``secret``: base32; ``code``: 6 digits (spaces allowed: apps show "123 456")."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = int(now.timestamp()) // PERIOD
    for step in (s for s in (current, current - DRIFT, current + DRIFT) if s >= 0):
        # compare_digest: no timing signal on how many digits were right
        if hmac.compare_digest(generator.generate_otp(step), code):
            return step
    return None


async def check_code(svc: Services, user: UserRecord, code: str, *, info: RequestInfo) -> bool:
    """True when ``code`` is the user's ACTIVE secret's code for the current step ±1 (clock:
    ``svc.clock()``) and that step is newer than the last accepted one, which it then becomes
    (one conditional UPDATE: of parallel submissions of one code exactly one is True, on
    PostgreSQL and SQLite). A right code of an already used step is False and audited as
    TOTP_REPLAY_REFUSED (RFC 6238 §5.2). False also when TOTP is not active.
    raises RuntimeError when called inside a transaction (the step must be used up on its
    own, before the change it authorizes)."""
    if in_transaction():
        raise RuntimeError("totp.check_code must run outside a transaction")
    credential = await totp_credentials.get(user.id)
    if credential is None or credential.secret is None:
        return False
    step = matching_step(SecretBox(svc.settings).decrypt(credential.secret), code, svc.clock())
    if step is None:
        return False
    if await totp_credentials.accept_step(user.id, step):
        return True
    async with svc.unit_of_work(info) as uow:
        uow.audit(AuditAction.TOTP_REPLAY_REFUSED, user.id)
    return False


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the person needs once to set up their app: secret (base32, 32 chars),
    otpauth_uri (Key Uri Format: issuer TOTP_ISSUER, label the email), qr_code (that URI as a
    PNG data URL) and the 10 new backup codes. Never logged, never stored raw."""

    secret: str = field(repr=False)
    otpauth_uri: str = field(repr=False)
    qr_code: str = field(repr=False)
    backup_codes: list[str] = field(repr=False)


async def enable(svc: Services, claims: AccessClaims, *, password: str, info: RequestInfo
                 ) -> Enrolment:
    """Start TOTP enrolment for the signed-in user once ``password`` is re-checked: a new
    secret waits (encrypted) for /totp/verify, replacing any secret still waiting, and the
    backup codes are replaced by 10 new ones. Nothing changes for sign-in until verified.
    raises TotpAlreadyEnabled (409: turn it off first), ValidationFailed (400: wrong
    password), RateLimited, Overloaded (see reauthenticate), Unauthenticated."""
    user = await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    if user.totp_enabled_at is not None:
        raise TotpAlreadyEnabled()
    user, _ = await reauthenticate(svc, claims, password, info=info, user=user)
    secret = pyotp.random_base32()  # 32 base32 chars = 160 bits from `secrets`
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=user.email, issuer_name=svc.settings.totp_issuer)
    qr_code = await qr_data_url(uri)
    async with svc.unit_of_work(info) as uow:
        await totp_credentials.set_pending(user.id, SecretBox(svc.settings).encrypt(secret),
                                           uow.now)
        codes = ([] if user.two_factor_methods and user.backup_codes_remaining
                 else await backup_codes.issue(uow, user.id, svc.settings))
    return Enrolment(secret=secret, otpauth_uri=uri, qr_code=qr_code, backup_codes=codes)


async def verify(svc: Services, claims: AccessClaims, *, code: str, info: RequestInfo) -> None:
    """Activate the waiting secret with a code from the app: TOTP is on from now, that
    code's step counts as used, an audit event TWO_FACTOR_ENABLED (method=totp) and a security
    alert are recorded. raises TotpNotPending (409: nothing waits), InvalidCode (400),
    Unauthenticated."""
    user = await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    credential = await totp_credentials.get(user.id)
    if credential is None or credential.pending_secret is None:
        raise TotpNotPending()
    pending = credential.pending_secret
    step = matching_step(SecretBox(svc.settings).decrypt(pending), code, svc.clock())
    if step is None:
        raise InvalidCode()
    async with svc.unit_of_work(info) as uow:
        if not await totp_credentials.activate(user.id, pending_secret=pending, step=step,
                                               now=uow.now):
            raise TotpNotPending()  # a parallel enrolment replaced it, or verified it
        uow.audit(AuditAction.TWO_FACTOR_ENABLED, user.id, method="totp")
        uow.send(kinds.TWO_FACTOR_ENABLED_ALERT, user=user,
                 data={**alert_data(now=uow.now, device=info), "method": METHOD_LABEL})
