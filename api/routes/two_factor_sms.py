"""SMS two-factor (enrol, verify) and the sign-in challenge (send an SMS code, answer with a
TOTP, SMS or backup code) — /v1/auth/two-factor (API.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, Response, post
from litestar.di import Provide
from msgspec import Meta

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import rate_limit
from api.openapi import BEARER, problems
from api.routes.auth import token_pair
from api.schemas import (
    PRINTABLE,
    Camel,
    Message,
    OpaqueToken,
    Password,
    RefreshTransport,
    TokenPairResponse,
)
from domain.names import RateLimit
from domain.services import Services
from domain.tokens import AccessClaims
from domain.two_factor import sms
from domain.two_factor.challenge import verify_challenge

# 6 digits (TOTP, SMS) or a backup code (xxxxx-xxxxx; dash, spaces and case optional)
Code = Annotated[str, Meta(min_length=1, max_length=32, pattern=PRINTABLE,
                           examples=["123456", "7hk3m-q9xzp"],
                           description="A 6-digit TOTP or SMS code, or a backup code.")]
PhoneNumber = Annotated[str, Meta(min_length=1, max_length=32, pattern=PRINTABLE,
                                  examples=["+14155552671"],
                                  description="E.164: + country code and number.")]


class ChallengeVerifyRequest(Camel):
    two_factor_token: OpaqueToken
    method: Literal["totp", "sms", "backup"]
    code: Code
    refresh_transport: RefreshTransport = "body"


class ChallengeSmsRequest(Camel):
    two_factor_token: OpaqueToken


class SmsEnableRequest(Camel):
    phone_number: PhoneNumber
    password: Password


class SmsEnableResponse(Camel):
    message: str
    phone_number: str


class SmsVerifyRequest(Camel):
    code: Code


class SmsVerifyResponse(Camel):
    message: str
    backup_codes: list[str]


class TwoFactorChallengeController(Controller):
    path = "/v1/auth/two-factor/challenge"
    tags = ["two-factor"]
    dependencies = {"svc": Provide(provide_services)}

    @post("/verify", status_code=200, guards=[rate_limit(RateLimit.TWO_FACTOR)],
          responses=problems(400, 429))
    async def verify(self, request: Request, data: ChallengeVerifyRequest, svc: Services
                     ) -> Response[TokenPairResponse]:
        """Answer the two-factor challenge of a sign-in with a code of one of its
        `twoFactorMethods`; returns the TokenPair (`amr` e.g. `["pwd","otp"]`,
        `["pwd","sms"]`, `["email","backup"]`). The token is single use and lives 5 min:
        400 `invalid_token` / `token_expired`; 400 `invalid_code` for a wrong code; the 5th
        wrong code ends the challenge (429 `too_many_attempts`: sign in again). Wrong codes
        count toward the account lockout too. A used backup code queues a security alert."""
        pair = await verify_challenge(svc, token=data.two_factor_token, method=data.method,
                                      code=data.code, info=request_info(request))
        return await token_pair(pair, data.refresh_transport, svc)

    @post("/sms", status_code=200, guards=[rate_limit(RateLimit.TWO_FACTOR)],
          responses=problems(400, 409, 429))
    async def send_sms(self, request: Request, data: ChallengeSmsRequest, svc: Services
                       ) -> Message:
        """Send a sign-in code (6 digits, 5 min) by SMS to the enrolled number of the pending
        sign-in; a newer code voids the older. 409 `two_factor_not_enabled` without SMS
        two-factor; 429 past the SMS limits (per number, IP, account, day)."""
        masked = await sms.send_challenge_code(svc, token=data.two_factor_token,
                                               info=request_info(request))
        return Message(f"A sign-in code is on its way to {masked}.")


class SmsTwoFactorController(Controller):
    path = "/v1/auth/two-factor/sms"
    tags = ["two-factor"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @post("/enable", status_code=200, security=BEARER, responses=problems(400, 401, 429, 503))
    async def enable(self, request: Request, data: SmsEnableRequest, svc: Services,
                     claims: AccessClaims) -> SmsEnableResponse:
        """Start SMS two-factor: after the password is re-checked, a code (6 digits, 5 min,
        5 attempts) is sent to `phoneNumber` (E.164). Not active until /sms/verify. 400 names
        `phoneNumber` (invalid, or a country SMS may not go to) or `password`; 429 past the
        SMS limits."""
        phone = await sms.request_enrolment(svc, claims, phone_number=data.phone_number,
                                            password=data.password, info=request_info(request))
        return SmsEnableResponse(message=f"A verification code is on its way to {phone}.",
                                 phone_number=phone)

    @post("/verify", status_code=200, security=BEARER, responses=problems(400, 401, 429))
    async def verify(self, request: Request, data: SmsVerifyRequest, svc: Services,
                     claims: AccessClaims) -> SmsVerifyResponse:
        """Turn SMS two-factor on with the code from the SMS; queues a security alert.
        `backupCodes`: 10 new codes to show once when the account had none, else `[]`.
        400 `invalid_code`; 429 `too_many_attempts` once the code is void."""
        codes = await sms.confirm_enrolment(svc, claims, code=data.code,
                                            info=request_info(request))
        return SmsVerifyResponse(message="SMS two-factor authentication is on.",
                                 backup_codes=codes)


CONTROLLERS: list[type[Controller]] = [TwoFactorChallengeController, SmsTwoFactorController]
