"""An organization's enterprise directory as its administrators set it up (API.md
"Organizations and context", issue 14): its OpenID Connect identity provider
(``/v1/organizations/{id}/sso``: owner or admin) and its SCIM tokens
(``/v1/organizations/{id}/scim-tokens``: owner). Who may do what is decided in
domain.organizations.access; an organization one cannot see answers 404."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import Provide

from api.deps import SIGNED_IN, provide_services, request_info
from api.directory_schemas import (
    NewScimToken,
    ScimToken,
    ScimTokenList,
    ScimTokenRequest,
    SsoConnection,
    SsoConnectionRequest,
    SsoConnectionUpdate,
)
from api.openapi import BEARER, problems
from domain.directory import connections, scim_tokens
from domain.services import Services
from domain.tokens import AccessClaims

SSO = "/{organization_id:str}/sso"
TOKENS = "/{organization_id:str}/scim-tokens"


class DirectoryController(Controller):
    path = "/v1/organizations"
    tags = ["enterprise directory"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @post(SSO, security=BEARER, responses=problems(400, 401, 403, 404, 409))
    async def connect(self, request: Request, organization_id: str, svc: Services,
                      data: SsoConnectionRequest, claims: AccessClaims) -> SsoConnection:
        """Owner or admin: connect the organization's OpenID Connect provider. 409
        `sso_connection_exists` when one is connected, `domain_taken` when another
        organization's provider answers for one of `allowedDomains`."""
        made = await connections.create(svc, claims.user_id, organization_id, data.fields(),
                                        request_info(request))
        return SsoConnection.of(made, svc.settings.sso_redirect_uri)

    @get(SSO, security=BEARER, responses=problems(401, 403, 404))
    async def connection(self, organization_id: str, svc: Services,
                         claims: AccessClaims) -> SsoConnection:
        """Owner or admin: the organization's provider (404 `not_found` when none)."""
        found = await connections.view(claims.user_id, organization_id)
        return SsoConnection.of(found, svc.settings.sso_redirect_uri)

    @patch(SSO, security=BEARER, responses=problems(400, 401, 403, 404, 409))
    async def change(self, request: Request, organization_id: str, svc: Services,
                     data: SsoConnectionUpdate, claims: AccessClaims) -> SsoConnection:
        """Owner or admin: change the fields sent."""
        changed = await connections.update(svc, claims.user_id, organization_id,
                                           data.fields(), request_info(request))
        return SsoConnection.of(changed, svc.settings.sso_redirect_uri)

    @delete(SSO, status_code=204, security=BEARER, responses=problems(401, 403, 404))
    async def disconnect(self, request: Request, organization_id: str, svc: Services,
                         claims: AccessClaims) -> None:
        """Owner or admin: disconnect the provider; its sign-ins stop at once."""
        await connections.delete(svc, claims.user_id, organization_id, request_info(request))

    @post(TOKENS, security=BEARER, responses=problems(400, 401, 403, 404, 409))
    async def create_token(self, request: Request, organization_id: str, svc: Services,
                           claims: AccessClaims, data: ScimTokenRequest | None = None
                           ) -> NewScimToken:
        """Owner: a SCIM token, shown once (only its hash is kept). At most 10 live tokens
        (409 `too_many_scim_tokens`)."""
        token, raw = await scim_tokens.create(svc, claims.user_id, organization_id,
                                              data.description if data else None,
                                              request_info(request))
        return NewScimToken(id=token.id, token=raw, description=token.description,
                            created_at=token.created_at)

    @get(TOKENS, security=BEARER, responses=problems(401, 403, 404))
    async def tokens(self, organization_id: str, claims: AccessClaims) -> ScimTokenList:
        """Owner: the live SCIM tokens, newest first, without the tokens."""
        found = await scim_tokens.list_tokens(claims.user_id, organization_id)
        return ScimTokenList(items=[ScimToken.of(t) for t in found])

    @delete(TOKENS + "/{token_id:str}", status_code=204, security=BEARER,
            responses=problems(401, 403, 404))
    async def revoke_token(self, request: Request, organization_id: str, token_id: str,
                           svc: Services, claims: AccessClaims) -> None:
        """Owner: revoke a SCIM token; its client is refused from the next request."""
        await scim_tokens.revoke(svc, claims.user_id, organization_id, token_id,
                                 request_info(request))


CONTROLLERS: list[type[Controller]] = [DirectoryController]
