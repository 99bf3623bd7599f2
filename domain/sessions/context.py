"""Switching a session's active context: an organization the caller is an active member of,
or the caller's own personal profile (API.md POST /v1/auth/context).

The session row remembers the context, so every refresh re-issues it (reading the member's
current role in the same statement); the refresh token is not rotated here. A removal,
suspension or deletion ends it: the session's context is cleared (sessions.clear_context)
and, until then, a refresh finds no active membership and issues no ``ctx``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from db.repositories import sessions, users
from domain.errors import AuthorizationDenied, NotFound, Unauthenticated
from domain.names import AuditAction, ContextType
from domain.organizations.access import require_member
from domain.records import ActiveContext, UserRecord
from domain.services import RequestInfo, Services
from domain.sessions.opening import access_token
from domain.tokens import AccessClaims


@dataclass(frozen=True, slots=True)
class ContextToken:
    """The access token of the switched session. expires_in: seconds."""

    access_token: str
    expires_in: int
    context: ActiveContext


async def switch_context(svc: Services, claims: AccessClaims, *, context_type: ContextType,
                         context_id: uuid.UUID, info: RequestInfo) -> ContextToken:
    """Make ``(context_type, context_id)`` the active context of the caller's session and
    return a new access token carrying ``ctx`` (+ ``orgRole``, the member's current role).

    An organization needs an active membership (its row locked until commit, so a removal
    cannot slip in between); a personal context needs ``context_id`` to be the caller's
    ``personal_profile_id`` — an account without a personal profile has none to switch to.
    Audited ``auth.context.switched``. raises AuthorizationDenied (403: not an active member,
    an unknown organization alike, or not the caller's personal profile), Unauthenticated
    (the session or account ended meanwhile)."""
    async with svc.unit_of_work(info) as uow:
        user = await users.get_by_id(claims.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated()
        context = await _allowed(user, context_type, context_id)
        found = await sessions.set_context(claims.session_id, user_id=user.id, context=context,
                                           now=uow.now)
        if found is None:
            raise Unauthenticated("The session has ended.")
        uow.audit(AuditAction.CONTEXT_SWITCHED, user.id, session_id=str(claims.session_id),
                  contextType=context.type, contextId=str(context.id))
    signed_in_at, amr = found
    token = access_token(svc, user, claims.session_id, amr, signed_in_at=signed_in_at,
                         context=context)
    return ContextToken(token, svc.access_tokens.ttl, context)


async def _allowed(user: UserRecord, context_type: ContextType, context_id: uuid.UUID
                   ) -> ActiveContext:
    if context_type == ContextType.PERSONAL:
        if user.personal_profile_id is None or context_id != user.personal_profile_id:
            raise AuthorizationDenied("This personal profile is not yours.")
        return ActiveContext(ContextType.PERSONAL.value, context_id)
    try:
        membership = await require_member(context_id, user.id, for_update=True)
    except NotFound:  # the issue asks 403 here, for unknown organizations too
        raise AuthorizationDenied("You are not an active member of this organization.") from None
    return ActiveContext(ContextType.ORGANIZATION.value, context_id, membership.role)
