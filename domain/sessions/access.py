"""Authenticating access tokens: a valid signature is not enough, the session must be live."""

from __future__ import annotations

from db.repositories import sessions
from domain.errors import Unauthenticated
from domain.services import Services
from domain.tokens import AccessClaims


async def authenticate(svc: Services, access_token: str) -> AccessClaims:
    """Verify an access token and that its session is still live.

    raises Unauthenticated. The Redis deny-list answers in O(1); when Redis cannot answer
    the database is asked instead, so a revoked session never passes (fail closed).
    """
    now = svc.clock()
    claims = svc.access_tokens.decode(access_token, now=now)
    revoked = await svc.denylist.contains(claims.session_id)
    if revoked is None:
        revoked = not await sessions.is_active(claims.session_id, now)
    if revoked:
        raise Unauthenticated("The session has ended.")
    return claims
