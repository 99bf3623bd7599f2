"""Who a SCIM request is: an organization's SCIM token (RFC 7644 §2: bearer token auth).

A token reaches only its own organization's users and groups; every use case of SCIM takes
the ``ScimTokenRecord`` this returns and scopes its queries by ``organization_id``."""

from __future__ import annotations

from db.repositories import scim_tokens
from domain.errors import Unauthenticated
from domain.names import RateLimit
from domain.records import ScimTokenRecord
from domain.services import Services
from domain.tokens import hash_token

MAX_TOKEN = 200  # longer is not a token we issued; not worth hashing


async def authenticate_scim(svc: Services, raw: str | None) -> ScimTokenRecord:
    """The live SCIM token ``raw`` (the Bearer value), after counting this request against
    ``RATE_LIMIT_SCIM_PER_TOKEN`` (600/minute by default) and recording its use.
    raises Unauthenticated (missing, unknown or revoked token: one answer for all),
    RateLimited."""
    if not raw or len(raw) > MAX_TOKEN:
        raise Unauthenticated("A SCIM token is required (Authorization: Bearer ...).")
    token = await scim_tokens.live_by_hash(hash_token(raw))
    if token is None:
        raise Unauthenticated("The SCIM token is unknown or revoked.")
    await svc.limit(RateLimit.SCIM_PER_TOKEN, str(token.id))
    await scim_tokens.touch(token, svc.clock())
    return token
