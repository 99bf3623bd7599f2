"""Pairing a mobile device by a one-time token shown as a QR code (API.md /v1/mobile).

A signed-in session asks for a pairing token (256 bits, SHA-256 stored, ``pairing_token_ttl``
s, ``created_by`` = that session) and shows it as a QR code of :func:`pairing_uri`. The phone
sends it once to ``POST /v1/mobile/pair`` and gets a mobile session (MOBILE_SESSION_TTL)
whose ``amr`` copies the asking session's: a paired device is as strong as the sign-in that
paired it (RFC 8176; NIST SP 800-63B §7.1 binds a new authenticator to an authenticated
session). Locks, one order everywhere: the user's row, then the token's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from db.repositories import pairing, users
from domain import one_time_secrets
from domain.errors import (
    InvalidOneTimeToken,
    MobileDisabled,
    TooManyDevices,
    TooManyPendingTokens,
    Unauthenticated,
    ValidationFailed,
)
from domain.messages import kinds
from domain.names import AuditAction, AuthMethod, RateLimit, RevokeReason, SessionKind
from domain.one_time_secrets import purposes
from domain.qr import qr_data_url
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair, start_session
from domain.tokens import AccessClaims, hash_token, new_opaque_token

MAX_PENDING_TOKENS = 3  # unused, unexpired pairing tokens per account
MAX_DEVICES = 5  # live mobile sessions per account
# A token outlives the session that asked for it only when that session was signed out
# plainly (the hosted page signs itself out once the code is shown). Ended for any other
# reason (refresh-token reuse, password reset or change, revoked by its owner, account
# deactivated, mobile turned off) it pairs nothing.
CREATOR_ENDINGS_KEPT = frozenset({RevokeReason.SIGNOUT.value})


@dataclass(frozen=True, slots=True)
class PairingToken:
    """token: the raw secret, shown once; qr_code: ``data:image/png;base64,...`` of
    :func:`pairing_uri` (holds the secret too: never log either)."""

    token: str
    expires_at: datetime
    qr_code: str


def pairing_uri(app_url: str, token: str) -> str:
    """``latchkey://pair?server=<APP_URL, percent-encoded>&token=<token>``: what the app
    scans. The token is base64url, safe in a query as it is."""
    return f"latchkey://pair?server={quote(app_url, safe='')}&token={token}"


async def issue_pairing_token(svc: Services, claims: AccessClaims, info: RequestInfo, *,
                              replaces: str | None = None) -> PairingToken:
    """A pairing token for the caller's account, valid ``pairing_token_ttl`` s; audited
    (never the token). ``replaces``: a pending token of the account this one replaces
    (deleted with the new one's creation; the hosted page's "New code").
    raises MobileDisabled, TooManyPendingTokens (3 unused), TooManyDevices (5 paired),
    RateLimited (``rate_limit_pair_token_per_account``: counted only for requests the state
    allows), Unauthenticated."""
    user = await users.get_by_id(claims.user_id)
    if user is None:
        raise Unauthenticated()
    replaced = hash_token(replaces) if replaces else None
    await _check_room(user.id, user.mobile_enabled, svc.clock(), replaced)
    await svc.limit(RateLimit.PAIR_TOKEN_PER_ACCOUNT, str(user.id))
    raw = new_opaque_token()
    async with svc.unit_of_work(info) as uow:
        await pairing.lock_user(user.id)  # parallel requests: the limits hold exactly
        if replaced:
            await pairing.delete_pending(user.id, token_hash=replaced)
        fresh = await users.get_by_id(user.id)
        await _check_room(user.id, fresh is not None and fresh.mobile_enabled, uow.now)
        expires_at = uow.now + timedelta(seconds=purposes.PAIR_DEVICE.ttl(svc.settings))
        await pairing.add_token(user_id=user.id, token_hash=hash_token(raw),
                                expires_at=expires_at, now=uow.now,
                                created_by=claims.session_id, ip_address=info.ip_address,
                                user_agent=info.user_agent)
        uow.audit(AuditAction.PAIRING_TOKEN_CREATED, user.id, session_id=str(claims.session_id),
                  expires_at=expires_at.isoformat())
    qr_code = await qr_data_url(pairing_uri(svc.settings.app_url, raw))
    return PairingToken(raw, expires_at, qr_code)


async def _check_room(user_id: uuid.UUID, enabled: bool, now: datetime,
                      replaced: str | None = None) -> None:
    if not enabled:
        raise MobileDisabled()
    if await pairing.count_pending(user_id, now, besides=replaced) >= MAX_PENDING_TOKENS:
        raise TooManyPendingTokens()
    await require_device_room(user_id, now)


async def require_device_room(user_id: uuid.UUID, now: datetime) -> None:
    """The cap on paired devices: raises TooManyDevices when the account already has
    ``MAX_DEVICES`` live mobile sessions (paired or from ``POST /v1/mobile/token``). Call
    under ``pairing.lock_user`` for an exact count."""
    if await pairing.count_devices(user_id, now) >= MAX_DEVICES:
        raise TooManyDevices()


async def pair_device(svc: Services, *, token: str, device_name: str, platform: str,
                      info: RequestInfo) -> TokenPair:
    """Trade a pairing token for a mobile session named ``device_name`` on ``platform``.

    One transaction: the user's and the token's rows locked, the token marked used (the row
    and its ``used_at`` stay), the device limit re-checked, the session opened, the pairing
    audited and a "new device paired" alert queued; of parallel requests with one token
    exactly one succeeds. raises InvalidOneTimeToken (unknown, used, mobile access off,
    account inactive, the asking session ended for a security reason), OneTimeTokenExpired,
    TooManyDevices, ValidationFailed (blank device name).
    """
    device_name = device_name.strip()
    if not device_name:
        raise ValidationFailed([("deviceName", "must not be blank")])
    # Checked before any lock: unknown, used and expired tokens cost no transaction.
    record = await one_time_secrets.check_link(purposes.PAIR_DEVICE, token, now=svc.clock())
    async with svc.unit_of_work(info) as uow:
        await pairing.lock_user(record.user_id)
        used = await one_time_secrets.consume_link(purposes.PAIR_DEVICE, token, now=uow.now)
        user = await users.get_by_id(used.user_id)
        if user is None or not user.is_active:
            raise InvalidOneTimeToken()
        if not user.mobile_enabled:
            raise InvalidOneTimeToken("Mobile access is turned off for this account.")
        creator = await pairing.creator(used.id)
        if creator is None or creator.revoked_reason not in (None, *CREATOR_ENDINGS_KEPT):
            raise InvalidOneTimeToken()
        await require_device_room(user.id, uow.now)
        pair = await start_session(svc, uow, user, amr=tuple(map(AuthMethod, creator.amr)),
                                   device_name=device_name, kind=SessionKind.MOBILE,
                                   platform=platform)
        uow.audit(AuditAction.DEVICE_PAIRED, user.id, session_id=str(pair.session_id),
                  device=device_name, platform=platform, paired_by=str(creator.session_id))
        uow.alert(kinds.DEVICE_PAIRED_ALERT, user=user, device_name=device_name)
    return pair
