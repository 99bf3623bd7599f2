"""Single sign-on through OpenID Connect — /v1/auth/sso (API.md, issue 14)."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Redirect

from api.deps import provide_services, request_info
from api.guards import rate_limit
from api.openapi import problems
from api.routes.auth import SignedIn, signed_in
from api.schemas import PRINTABLE
from api.sso_schemas import REDIRECT, UNAVAILABLE, SsoExchangeRequest
from domain.directory.sso import exchange_sso_code, start_sso
from domain.directory.sso_callback import finish_sso
from domain.names import RateLimit
from domain.services import Services

# The Location of both redirects carries a secret (state, one-time code): never cached,
# never sent on as a Referer
NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
# the provider's answer and the app's address: bounded, no control characters
REDIRECT_TO = Parameter(query="redirectTo", default=None, max_length=2048, pattern=PRINTABLE)
EMAIL = Parameter(default=None, max_length=254, pattern=PRINTABLE)
STATE = Parameter(query="state", default=None, max_length=512, pattern=PRINTABLE)
CODE = Parameter(default=None, max_length=2048, pattern=PRINTABLE)
ERROR = Parameter(default=None, max_length=256, pattern=PRINTABLE)


def _redirect(url: str) -> Redirect:
    return Redirect(url, status_code=302, headers=NO_STORE)


class SsoController(Controller):
    path = "/v1/auth/sso"
    tags = ["auth"]
    dependencies = {"svc": Provide(provide_services)}
    guards = [rate_limit(RateLimit.SSO)]

    @get("/start", status_code=302, responses={302: REDIRECT, 502: UNAVAILABLE,
                                               **problems(400, 429)})
    async def start(self, request: Request, svc: Services,
                    organization: uuid.UUID | None = None,
                    email: str | None = EMAIL,
                    redirect_to: str | None = REDIRECT_TO) -> Redirect:
        """Start signing in at the identity provider of `organization`, or of the `email`'s
        domain: 302 to the provider with `state`, `nonce` and a PKCE S256 challenge (valid
        SSO_STATE_TTL s, single use). `redirectTo` (default: the first of
        SSO_ALLOWED_REDIRECTS) must be one of SSO_ALLOWED_REDIRECTS, its query aside: else
        400 `redirect_not_allowed`. 400 `sso_not_configured`; 502 `provider_unavailable`."""
        return _redirect(await start_sso(svc, organization_id=organization, email=email,
                                         redirect_to=redirect_to, info=request_info(request)))

    @get("/callback", status_code=302, responses={302: REDIRECT, 502: UNAVAILABLE,
                                                  **problems(400, 403, 429)})
    async def callback(self, request: Request, svc: Services,
                       state_: str | None = STATE, code: str | None = CODE,
                       error: str | None = ERROR) -> Redirect:
        """Where the identity provider sends the browser back: checks the sign-in and
        redirects to its `redirectTo` with a one-time `code` (valid SSO_CODE_TTL s) to
        exchange at POST /v1/auth/sso/exchange. Each refusal is a 400 whose `type` names
        the check (`invalid_state`, `provider_error`, `invalid_signature`, `invalid_issuer`,
        `invalid_audience`, `id_token_expired`, `nonce_mismatch`, `invalid_id_token`,
        `sso_email_unverified`, `sso_domain_not_allowed`, `sso_domain_not_verified`,
        `account_not_provisioned`), 403
        `account_disabled` / `authorization_denied`, 502 `provider_unavailable`; each is
        audited (`auth.sso.failed`) and changes no account."""
        return _redirect(await finish_sso(svc, state=state_, code=code, error=error,
                                          info=request_info(request)))

    @post("/exchange", status_code=200, responses=problems(400, 403, 429))
    async def exchange(self, request: Request, data: SsoExchangeRequest, svc: Services
                       ) -> SignedIn:
        """Exchange the callback's one-time code: a TokenPair (`amr: ["fed"]`, plus `mfa`
        when a provider trusted for it showed a second factor) whose active context is the
        organization, or TwoFactorRequired when the account has two-factor on. 400
        `invalid_token` (unknown or used) / `token_expired`; 403 `account_disabled` /
        `authorization_denied`."""
        result = await exchange_sso_code(svc, code=data.code, device_name=data.device_name,
                                         info=request_info(request))
        return await signed_in(result, data.refresh_transport, svc)


CONTROLLERS: list[type[Controller]] = [SsoController]
