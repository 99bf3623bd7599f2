"""A mobile session straight from a signed-in one (API.md POST /v1/mobile/token; OnCall's
``POST /mobile/token``), for an app that signed in itself and needs a long-lived credential.

It turns a 15-minute access token into a 90-day session, so it needs a recent sign-in: the
token's ``auth_time`` within ``mobile_token_max_auth_age`` seconds (OpenID Connect Core §3.1.2.1
``max_age``; NIST SP 800-63B §7.1 binds a new authenticator to a fresh authentication). The new
session copies the asking session's ``amr`` and active context, and counts toward the cap of
paired devices.
"""

from __future__ import annotations

from datetime import UTC, datetime

from db.repositories import pairing, sessions, users
from domain.errors import MobileDisabled, ReauthenticationRequired, Unauthenticated
from domain.messages import kinds
from domain.mobile.pairing import require_device_room
from domain.names import AuditAction, AuthMethod, SessionKind
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair, start_session
from domain.tokens import AccessClaims


async def issue_mobile_token(svc: Services, claims: AccessClaims, *, device_name: str | None,
                             platform: str | None, info: RequestInfo) -> TokenPair:
    """Open a mobile session (``mobile_session_ttl`` from now, no sliding) for the caller.

    One transaction under the account's pairing lock: the switch and the device cap checked,
    the session opened in the asking session's context (while still valid), audited
    ``mobile.token.issued`` and a "new sign-in" alert queued. device_name / platform: default
    from the user agent. raises MobileDisabled, TooManyDevices (409), ReauthenticationRequired
    (401: no ``auth_time`` or older than ``mobile_token_max_auth_age`` s), Unauthenticated."""
    async with svc.unit_of_work(info) as uow:
        await pairing.lock_user(claims.user_id)
        user = await users.get_by_id(claims.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated()
        if not user.mobile_enabled:
            raise MobileDisabled()
        await require_device_room(user.id, uow.now)
        # last, so a stale token is not told to sign in again only to meet a 409 after
        age = svc.settings.mobile_token_max_auth_age
        if claims.auth_time is None or uow.now.timestamp() - claims.auth_time > age:
            raise ReauthenticationRequired()
        pair = await start_session(svc, uow, user, amr=tuple(map(AuthMethod, claims.amr)),
                                   device_name=device_name, kind=SessionKind.MOBILE,
                                   platform=platform,
                                   context=await sessions.context_of(claims.session_id),
                                   auth_time=datetime.fromtimestamp(claims.auth_time, UTC))
        uow.audit(AuditAction.MOBILE_TOKEN_ISSUED, user.id, session_id=str(pair.session_id),
                  issued_by=str(claims.session_id), device=device_name, platform=platform)
        uow.alert(kinds.NEW_DEVICE_ALERT, user=user, device_name=device_name)
    return pair
