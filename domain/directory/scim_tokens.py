"""An organization's SCIM tokens: the bearer credentials of its SCIM client (RFC 7644 §2),
created, listed and revoked by its owners (API.md ``/v1/organizations/{id}/scim-tokens``) or
by the operator's CLI (``python -m scripts.scim_token``, no acting person).

A token is ``scim_`` + 256 random bits (base64url), shown once; only its SHA-256 is stored
(domain.tokens.hash_token). At most :data:`MAX_LIVE` unrevoked tokens per organization: enough
to rotate each client's token without a gap. Creation and revocation are audited
(``organization.scim_token.created`` / ``revoked``) with the token's id, never the token.
"""

from __future__ import annotations

import uuid

from db.repositories import organizations, scim_tokens
from domain.directory.connection_rules import CONTROL
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.names import AuditAction
from domain.organizations import access
from domain.organizations.organizations import parse_id
from domain.records import ScimTokenRecord
from domain.services import RequestInfo, Services
from domain.tokens import hash_token, new_opaque_token

PREFIX = "scim_"  # tells a leaked token apart at a glance (and to secret scanners)
MAX_LIVE = 10
MAX_DESCRIPTION = 200
NO_TOKEN = "No such SCIM token."


class TooManyScimTokens(Conflict):
    """The organization has :data:`MAX_LIVE` unrevoked tokens already."""

    code = "too_many_scim_tokens"
    detail = f"An organization can have at most {MAX_LIVE} SCIM tokens; revoke one first."


async def _authorize(organization_id: uuid.UUID, actor_id: uuid.UUID | None) -> None:
    """An active owner (``actor_id``), or the operator (None: the CLI) for an organization
    that exists. raises NotFound, AuthorizationDenied, Forbidden."""
    if actor_id is not None:
        await access.require_owner(organization_id, actor_id)
    elif await organizations.get(organization_id) is None:
        raise NotFound(access.NOT_FOUND)


def check_description(description: str | None) -> str | None:
    """Trimmed; blank is none. raises ValidationFailed (``description``: at most 200
    characters, no control characters)."""
    description = (description or "").strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise ValidationFailed([("description",
                                 f"must be at most {MAX_DESCRIPTION} characters")])
    if description is not None and CONTROL.search(description):
        raise ValidationFailed([("description", "must not contain control characters")])
    return description


async def create(svc: Services, actor_id: uuid.UUID | None, organization_text: str,
                 description: str | None, info: RequestInfo) -> tuple[ScimTokenRecord, str]:
    """(the new token's record, the token itself: show it once, it is not kept). actor_id:
    an owner, or None for the operator. raises NotFound, AuthorizationDenied, Forbidden,
    ValidationFailed (description), TooManyScimTokens (409)."""
    organization_id = parse_id(organization_text)
    description = check_description(description)
    raw = PREFIX + new_opaque_token()
    async with svc.unit_of_work(info) as uow:
        # the lock makes two creations at once count each other against MAX_LIVE
        await organizations.lock(organization_id)
        await _authorize(organization_id, actor_id)
        if len(await scim_tokens.of_organization(organization_id)) >= MAX_LIVE:
            raise TooManyScimTokens()
        token = await scim_tokens.insert(organization_id=organization_id,
                                         token_hash=hash_token(raw), description=description,
                                         created_by=actor_id, now=uow.now)
        uow.audit(AuditAction.SCIM_TOKEN_CREATED, actor_id, actor_id=actor_id,
                  organization_id=organization_id, token_id=str(token.id),
                  description=description)
    return token, raw


async def list_tokens(actor_id: uuid.UUID | None, organization_text: str
                      ) -> list[ScimTokenRecord]:
    """The organization's unrevoked tokens, newest first (without the tokens). actor_id: an
    owner, or None for the operator. raises NotFound, AuthorizationDenied, Forbidden."""
    organization_id = parse_id(organization_text)
    await _authorize(organization_id, actor_id)
    return await scim_tokens.of_organization(organization_id)


async def revoke(svc: Services, actor_id: uuid.UUID | None, organization_text: str,
                 token_text: str, info: RequestInfo) -> None:
    """Revoke one of the organization's tokens: the SCIM client using it is refused from
    its next request. actor_id: an owner, or None for the operator. raises NotFound (the
    organization; a token that is unknown, another organization's or revoked already),
    AuthorizationDenied, Forbidden."""
    organization_id = parse_id(organization_text)
    token_id = parse_id(token_text, NO_TOKEN)
    async with svc.unit_of_work(info) as uow:
        await _authorize(organization_id, actor_id)
        if not await scim_tokens.revoke(organization_id, token_id, uow.now):
            raise NotFound(NO_TOKEN)
        uow.audit(AuditAction.SCIM_TOKEN_REVOKED, actor_id, actor_id=actor_id,
                  organization_id=organization_id, token_id=str(token_id))
