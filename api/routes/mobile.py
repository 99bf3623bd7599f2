"""Mobile device pairing — /v1/mobile (API.md)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from msgspec import Meta, Struct

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import rate_limit
from api.openapi import BEARER, problems
from api.routes.auth import token_pair
from api.schemas import (
    PRINTABLE,
    Camel,
    OpaqueToken,
    RefreshTransport,
    Revoked,
    SessionOut,
    TokenPairResponse,
)
from domain.mobile import access, pairing
from domain.mobile.token import issue_mobile_token
from domain.names import RateLimit
from domain.services import Services
from domain.tokens import AccessClaims

PairedDeviceName = Annotated[str, Meta(min_length=1, max_length=100, pattern=PRINTABLE,
                                       examples=["Ann's Pixel 8"])]


class MobileStatusResponse(Struct, rename="camel"):
    is_enabled: bool
    sessions: list[SessionOut]


class MobileEnabled(Struct, rename="camel"):
    is_enabled: bool


class PairingTokenResponse(Struct, rename="camel"):
    """``token``: shown once, 15 minutes, single use; ``qrCode``: a PNG data URL of
    ``latchkey://pair?server=<APP_URL, percent-encoded>&token=<token>``."""

    token: str
    expires_at: datetime
    qr_code: Annotated[str, Meta(examples=["data:image/png;base64,iVBORw0KGgo..."])]


class PairRequest(Camel):
    token: OpaqueToken
    device_name: PairedDeviceName
    platform: Literal["ios", "android"]
    refresh_transport: RefreshTransport = "body"


class MobileTokenRequest(Camel):
    """Both default from the user agent."""

    device_name: PairedDeviceName | None = None
    platform: Literal["ios", "android"] | None = None


class MobileController(Controller):
    path = "/v1/mobile"
    tags = ["mobile"]
    dependencies = {"svc": Provide(provide_services)}

    @get("/", security=BEARER, dependencies=SIGNED_IN, responses=problems(401))
    async def status(self, svc: Services, claims: AccessClaims) -> MobileStatusResponse:
        """Whether this account may pair mobile devices, and its paired devices (live mobile
        sessions, most recently used first; `current: true` on the caller's)."""
        found = await access.status(svc, claims)
        return MobileStatusResponse(found.is_enabled, [
            SessionOut.of(s, current=s.id == claims.session_id) for s in found.sessions])

    @post("/enable", status_code=200, security=BEARER, dependencies=SIGNED_IN,
          responses=problems(401))
    async def enable(self, request: Request, svc: Services, claims: AccessClaims
                     ) -> MobileEnabled:
        """Let this account pair mobile devices. Idempotent; audited (`mobile.enabled`)."""
        await access.enable(svc, claims, request_info(request))
        return MobileEnabled(is_enabled=True)

    @post("/disable", status_code=200, security=BEARER, dependencies=SIGNED_IN,
          responses=problems(401))
    async def disable(self, request: Request, svc: Services, claims: AccessClaims
                      ) -> MobileEnabled:
        """Turn mobile access off: every paired device's session ends at once (its access
        tokens fail on the next request) and pending pairing tokens are deleted. Idempotent;
        audited (`mobile.disabled`)."""
        await access.disable(svc, claims, request_info(request))
        return MobileEnabled(is_enabled=False)

    @post("/pair-token", status_code=201, security=BEARER, dependencies=SIGNED_IN,
          responses=problems(401, 409, 429))
    async def pair_token(self, request: Request, svc: Services, claims: AccessClaims
                         ) -> PairingTokenResponse:
        """A one-time pairing token (256 bits, 15 minutes) and its QR code for the mobile
        app to scan. The paired session will carry this session's `amr`.

        409 `mobile_disabled` (turn it on first), `too_many_pending` (3 unused tokens),
        `too_many_devices` (5 paired); 429 past 3 tokens per 5 minutes per account.
        """
        issued = await pairing.issue_pairing_token(svc, claims, request_info(request))
        return PairingTokenResponse(issued.token, issued.expires_at, issued.qr_code)

    @post("/pair", status_code=200, guards=[rate_limit(RateLimit.PAIR)],
          responses=problems(400, 409, 429))
    async def pair(self, request: Request, svc: Services, data: PairRequest
                   ) -> Response[TokenPairResponse]:
        """Trade a pairing token (no Bearer) for the TokenPair of a new mobile session
        (90 days from now; refresh through `POST /v1/auth/refresh`, which rotates it).
        Single use: of parallel requests with one token exactly one succeeds. Queues a
        "new device paired" alert naming the device.

        400 `invalid_token` (unknown, used, mobile access off), `token_expired`;
        409 `too_many_devices`.
        """
        pair = await pairing.pair_device(svc, token=data.token, device_name=data.device_name,
                                         platform=data.platform, info=request_info(request))
        return await token_pair(pair, data.refresh_transport, svc)

    @post("/token", status_code=201, security=BEARER, dependencies=SIGNED_IN,
          responses=problems(400, 401, 409))
    async def token(self, request: Request, svc: Services, claims: AccessClaims,
                    data: MobileTokenRequest | None = None) -> Response[TokenPairResponse]:
        """Trade this session for the TokenPair of a new mobile session (90 days from now,
        no sliding; refresh through `POST /v1/auth/refresh`), in this session's active
        context and with its `amr`. Counts toward the 5 paired devices; audited
        (`mobile.token.issued`); queues a "new sign-in" alert.

        401 `reauthentication_required` unless the access token's sign-in (`auth_time`) is
        at most 10 minutes old (`MOBILE_TOKEN_MAX_AUTH_AGE`); 409 `mobile_disabled`,
        `too_many_devices`.
        """
        body = data or MobileTokenRequest()
        pair = await issue_mobile_token(svc, claims, device_name=body.device_name,
                                        platform=body.platform, info=request_info(request))
        created = await token_pair(pair, "body", svc)
        created.status_code = 201
        return created

    @delete("/sessions/{session_id:uuid}", status_code=204, security=BEARER,
            dependencies=SIGNED_IN, responses=problems(400, 401, 404))
    async def revoke(self, request: Request, session_id: uuid.UUID, svc: Services,
                     claims: AccessClaims) -> None:
        """Unpair one device: end one of the caller's mobile sessions (404 for anything
        else). The other devices keep working."""
        await access.revoke_device(svc, claims, session_id, request_info(request))

    @post("/sessions/revoke-all", status_code=200, security=BEARER, dependencies=SIGNED_IN,
          responses=problems(401))
    async def revoke_all(self, request: Request, svc: Services, claims: AccessClaims
                         ) -> Revoked:
        """Unpair every device: end all of the caller's mobile sessions (this one too, when
        the caller is a paired device); `revoked` counts them."""
        return Revoked(await access.revoke_all_devices(svc, claims, request_info(request)))


CONTROLLERS: list[type[Controller]] = [MobileController]
