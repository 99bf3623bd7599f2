"""Two-factor: TOTP enrolment, backup codes, status and disable — /v1/auth/two-factor
(API.md "Two-factor"). The SMS method and the sign-in challenge have modules of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Request, get, post
from litestar.di import Provide
from msgspec import Meta, Struct

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import rate_limit
from api.openapi import BEARER, problems
from api.schemas import PRINTABLE, Camel, Message, Password
from domain.names import RateLimit
from domain.services import Services
from domain.tokens import AccessClaims
from domain.two_factor import management, totp

TotpCode = Annotated[str, Meta(min_length=1, max_length=16, pattern=PRINTABLE,
                               examples=["123456"],
                               description="The 6 digits the authenticator app shows now.")]
BackupCodes = Annotated[list[str], Meta(
    examples=[["k7m2q-x9td4"] * 10],
    description="10 single-use backup codes, shown only this once; each is accepted with or "
                "without the dash, in any case.")]


class PasswordRequest(Camel):
    password: Password


class TotpVerifyRequest(Camel):
    code: TotpCode


class DisableRequest(Camel):
    password: Password
    method: Literal["totp", "sms"]


class TwoFactorStatus(Struct, rename="camel"):
    totp_enabled: bool
    sms_enabled: bool
    sms_phone_number: str | None  # masked, null when SMS is off
    backup_codes_generated: bool
    backup_codes_remaining: int


class TotpEnrolment(Struct, rename="camel"):
    secret: Annotated[str, Meta(description="Base32 seed (160 bits) for manual entry.")]
    otpauth_uri: Annotated[str, Meta(description="otpauth://totp/… (Key Uri Format).")]
    qr_code: Annotated[str, Meta(description="The otpauth URI as data:image/png;base64,…")]
    backup_codes: BackupCodes


class NewBackupCodes(Struct, rename="camel"):
    backup_codes: BackupCodes


class BackupCodeCount(Struct, rename="camel"):
    total: int
    remaining: int
    generated_at: datetime | None


class TwoFactorController(Controller):
    path = "/v1/auth/two-factor"
    tags = ["two-factor"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @get("/status", security=BEARER, responses=problems(401))
    async def status(self, svc: Services, claims: AccessClaims) -> TwoFactorStatus:
        """The caller's two-factor methods; `smsPhoneNumber` is masked."""
        s = await management.status(svc, claims)
        return TwoFactorStatus(s.totp_enabled, s.sms_enabled, s.sms_phone,
                               s.backup_codes_generated, s.backup_codes_remaining)

    @post("/totp/enable", status_code=200, security=BEARER,
          responses=problems(400, 401, 409, 429, 503))
    async def enable_totp(self, request: Request, data: PasswordRequest, svc: Services,
                          claims: AccessClaims) -> TotpEnrolment:
        """Start setting up an authenticator app (password re-checked). Not active until
        /totp/verify; calling again before that replaces the waiting secret. Issues 10 new
        backup codes, replacing any older ones. 409 `totp_already_enabled`."""
        e = await totp.enable(svc, claims, password=data.password, info=request_info(request))
        return TotpEnrolment(e.secret, e.otpauth_uri, e.qr_code, e.backup_codes)

    @post("/totp/verify", status_code=200, security=BEARER,
          guards=[rate_limit(RateLimit.TWO_FACTOR)], responses=problems(400, 401, 409, 429))
    async def verify_totp(self, request: Request, data: TotpVerifyRequest, svc: Services,
                          claims: AccessClaims) -> Message:
        """Turn TOTP on with a current code from the app; queues a security alert.
        400 `invalid_code`; 409 `totp_not_pending` when no setup is waiting."""
        await totp.verify(svc, claims, code=data.code, info=request_info(request))
        return Message("Two-factor authentication with your authenticator app is on.")

    @post("/disable", status_code=200, security=BEARER,
          responses=problems(400, 401, 409, 429, 503))
    async def disable(self, request: Request, data: DisableRequest, svc: Services,
                      claims: AccessClaims) -> Message:
        """Turn one method off (password re-checked); turning off the last one also deletes
        the backup codes. Queues a security alert. 409 `two_factor_not_enabled`."""
        await management.disable(svc, claims, password=data.password, method=data.method,
                                 info=request_info(request))
        return Message(f"Two-factor authentication ({management.LABELS[data.method]}) is off.")

    @post("/backup-codes/regenerate", status_code=200, security=BEARER,
          responses=problems(400, 401, 409, 429, 503))
    async def regenerate(self, request: Request, data: PasswordRequest, svc: Services,
                         claims: AccessClaims) -> NewBackupCodes:
        """10 new backup codes (password re-checked); the old ones stop working. Queues a
        security alert. 409 `two_factor_not_enabled` when no method is on."""
        return NewBackupCodes(await management.regenerate_backup_codes(
            svc, claims, password=data.password, info=request_info(request)))

    @get("/backup-codes/count", security=BEARER, responses=problems(401))
    async def count(self, svc: Services, claims: AccessClaims) -> BackupCodeCount:
        """How many of the current backup codes are left; `generatedAt` null when none."""
        c = await management.backup_code_count(svc, claims)
        return BackupCodeCount(c.total, c.remaining, c.generated_at)


CONTROLLERS: list[type[Controller]] = [TwoFactorController]
