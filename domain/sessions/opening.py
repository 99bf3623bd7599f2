"""Opening a session and issuing token pairs, whatever proved who the person is.

A session is a refresh-token family (RFC 9700 §4.14.2). It records how its holder signed in
(``amr``, RFC 8176) so every refresh re-issues the same claim, with ``auth_time`` (OIDC Core
§2: the session's creation, when its holder signed in) and the session's active context
(``ctx``, ``orgRole``); password sign-in, magic links, two-factor challenges, device pairing
and mobile tokens all open sessions through here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.repositories import audit, sessions, users
from domain.messages import kinds
from domain.names import AuditAction, AuthMethod, SessionKind
from domain.records import ActiveContext, UserRecord
from domain.services import RequestInfo, Services
from domain.sessions.devices import describe
from domain.tokens import hash_token, new_opaque_token
from domain.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class TokenPair:
    """Result of sign-in and refresh. expires_in / refresh_expires_in: seconds."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID
    user: UserRecord
    refresh_expires_in: int
    context: ActiveContext | None = None  # the active context the access token carries


async def open_session(svc: Services, user: UserRecord, *, amr: tuple[AuthMethod, ...],
                       info: RequestInfo, device_name: str | None = None,
                       kind: SessionKind = SessionKind.WEB) -> TokenPair:
    """Open a session for ``user``, who has just proved their identity by ``amr``; audit it
    and alert on a device not seen for ``new_device_window`` s (never on the first sign-in).
    Lifetime: ``refresh_token_ttl`` idle, ``session_max_lifetime`` in all; a mobile (paired)
    session lives ``mobile_session_ttl`` from its creation, refreshes do not extend it."""
    new_device = await audit.is_new_device(
        user.id, info.user_agent,
        since=svc.clock() - timedelta(seconds=svc.settings.new_device_window))
    async with svc.unit_of_work(info) as uow:
        pair = await start_session(svc, uow, user, amr=amr, device_name=device_name, kind=kind)
        if new_device:
            uow.alert(kinds.NEW_DEVICE_ALERT, user=user, device_name=device_name)
    return pair


async def start_session(svc: Services, uow: UnitOfWork, user: UserRecord, *,
                        amr: tuple[AuthMethod, ...], device_name: str | None = None,
                        kind: SessionKind = SessionKind.WEB, platform: str | None = None,
                        context: ActiveContext | None = None,
                        auth_time: datetime | None = None) -> TokenPair:
    """Create the session and its first refresh token inside ``uow`` (for a change that must
    commit with it, such as using up a pairing token), record the sign-in on the account
    (``last_login_at``) and audit it. The pair is valid once ``uow`` commits. platform:
    default derived from the user agent; context: the active context it starts in (checked
    by the caller); auth_time: when the holder proved who they are, if before now (a session
    minted from another inherits its sign-in time: OIDC Core §2 ``auth_time``)."""
    info = uow.info
    derived_name, derived_platform = describe(info.user_agent)
    refresh = new_opaque_token()
    lifetime = (svc.settings.mobile_session_ttl if kind is SessionKind.MOBILE
                else min(svc.settings.refresh_token_ttl, svc.settings.session_max_lifetime))
    methods = tuple(m.value for m in amr)
    session_id = await sessions.create(
        user_id=user.id, kind=kind.value, amr=methods, now=uow.now,
        expires_at=uow.now + timedelta(seconds=lifetime),
        device_name=device_name or derived_name, platform=platform or derived_platform,
        user_agent=info.user_agent, ip_address=info.ip_address, context=context,
        auth_time=auth_time)
    await sessions.add_refresh_token(session_id=session_id, token_hash=hash_token(refresh),
                                     now=uow.now)
    await users.record_login(user.id, uow.now)
    uow.audit(AuditAction.SIGNIN_SUCCEEDED, user.id, session_id=str(session_id),
              device=device_name or derived_name, amr=list(methods))
    return token_pair(svc, user, session_id, refresh, methods, signed_in_at=auth_time or uow.now,
                      context=context, refresh_ttl=lifetime)


def access_token(svc: Services, user: UserRecord, session_id: uuid.UUID, amr: tuple[str, ...],
                 *, signed_in_at: datetime, context: ActiveContext | None) -> str:
    """An access token of the session: ``amr``, the account's roles, ``auth_time`` =
    signed_in_at and, with a context, ``ctx`` (+ ``orgRole`` for an organization)."""
    return svc.access_tokens.issue(
        user_id=user.id, session_id=session_id, now=svc.clock(), amr=amr, roles=user.roles,
        auth_time=signed_in_at, context=(context.type, context.id) if context else None,
        org_role=context.org_role if context else None)


def token_pair(svc: Services, user: UserRecord, session_id: uuid.UUID, refresh_token: str,
               amr: tuple[str, ...], *, signed_in_at: datetime,
               context: ActiveContext | None = None, refresh_ttl: int | None = None
               ) -> TokenPair:
    """A fresh access token for the session (see :func:`access_token`) plus
    ``refresh_token``; refresh_ttl: seconds the refresh token may live (default
    ``refresh_token_ttl``)."""
    access = access_token(svc, user, session_id, amr, signed_in_at=signed_in_at,
                          context=context)
    return TokenPair(access_token=access, refresh_token=refresh_token,
                     expires_in=svc.access_tokens.ttl, session_id=session_id, user=user,
                     refresh_expires_in=refresh_ttl or svc.settings.refresh_token_ttl,
                     context=context)
