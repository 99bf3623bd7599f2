"""Contact verification, notification preferences and push devices — /v1/notifications (API.md)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from msgspec import Meta, Struct

from api.deps import SIGNED_IN, provide_services, request_info
from api.openapi import BEARER, problems
from api.schemas import PRINTABLE, Camel, DeviceName, Password
from domain.contacts import devices, preferences, verification
from domain.contacts.preferences import Preference
from domain.contacts.verification import Method
from domain.records import PushDeviceRecord
from domain.services import Services
from domain.tokens import AccessClaims

ContactValue = Annotated[str, Meta(
    min_length=1, max_length=254, pattern=PRINTABLE, examples=["ann@example.com"],
    description="An email address (method email) or an E.164 phone number (method sms).")]
Code = Annotated[str, Meta(pattern=r"^[0-9]{6}$", examples=["123456"],
                           description="The 6-digit code from the message.")]
# A channel is checked by the domain, whose 400 names the allowed ones
# (email, sms, push, slack, voice).
ChannelName = Annotated[str, Meta(min_length=1, max_length=16, examples=["sms"])]
Priority = Annotated[int, Meta(ge=1, le=10, description="1 first.")]
DeviceToken = Annotated[str, Meta(min_length=1, max_length=512, pattern=PRINTABLE,
                                  description="The push token the platform gave the app.")]


class SendCodeRequest(Camel):
    method: Literal["email", "sms", "push"]
    value: ContactValue | None = None
    password: Password | None = None  # required to move the account to another email address


class CodeSentResponse(Struct, rename="camel"):
    id: uuid.UUID
    method: Literal["email", "sms"]
    expires_at: datetime


class VerifyCodeRequest(Camel):
    method: Literal["email", "sms"]
    code: Code


class VerifiedResponse(Struct, rename="camel"):
    success: bool
    method: Literal["email", "sms", "push"]


class ContactState(Struct, rename="camel"):
    value: str | None
    verified: bool


class PushState(Struct, rename="camel"):
    verified: bool
    device_count: int


class VerificationStatus(Struct, rename="camel"):
    email: ContactState
    phone: ContactState
    push: PushState
    all_verified: bool
    can_be_on_call: bool


class PreferenceItem(Struct, rename="camel"):
    channel: ChannelName
    enabled: bool
    priority: Priority


class PreferenceList(Struct, rename="camel"):
    preferences: Annotated[list[PreferenceItem], Meta(max_length=10)]

    @classmethod
    def of(cls, found: list[Preference]) -> PreferenceList:
        return cls([PreferenceItem(p.channel, p.enabled, p.priority) for p in found])


class RegisterDeviceRequest(Camel):
    platform: Literal["ios", "android", "web"]
    device_token: DeviceToken
    device_name: DeviceName | None = None


class DeviceOut(Struct, rename="camel"):
    id: uuid.UUID
    platform: str
    device_name: str | None

    @classmethod
    def of(cls, device: PushDeviceRecord) -> DeviceOut:
        return cls(id=device.id, platform=device.platform, device_name=device.device_name)


class NotificationController(Controller):
    path = "/v1/notifications"
    tags = ["notifications"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @post("/verification/send", status_code=202, security=BEARER, responses={
        **problems(400, 401, 409, 429),
        200: ResponseSpec(data_container=VerifiedResponse, description="method push: "
                          "verified, since the account has a registered push device.")})
    async def send_code(self, request: Request, data: SendCodeRequest, svc: Services,
                        claims: AccessClaims) -> Response[CodeSentResponse | VerifiedResponse]:
        """Send a 6-digit code (15 min, 5 attempts; a new one voids the older) by email or
        SMS to `value`, or without it to the account's current address / number. One send
        per minute per method (429). The value becomes the account's contact once verified.
        A new email address needs the current `password` too: the address is how the account
        is recovered, so a stolen session alone must not move it. Push has no code: 200
        `{success: true, method: "push"}` once a device is registered, 409 `no_push_device`
        before."""
        if data.method == "push":
            await verification.verify_push(claims.user_id)
            return Response(VerifiedResponse(success=True, method="push"), status_code=200)
        sent = await verification.send_code(svc, claims, method=Method(data.method),
                                            value=data.value, password=data.password,
                                            info=request_info(request))
        return Response(CodeSentResponse(sent.id, data.method, sent.expires_at),
                        status_code=202)

    @post("/verification/verify", status_code=200, security=BEARER,
          responses=problems(400, 401, 409, 429))
    async def verify_code(self, request: Request, data: VerifyCodeRequest, svc: Services,
                          claims: AccessClaims) -> VerifiedResponse:
        """Verify the address or number the code was sent to; it becomes the account's email
        or phone number. 400 `invalid_code`; 429 `too_many_attempts` after 5 wrong codes (the
        code is void); 409 `email_taken` when another account has the address."""
        await verification.verify_code(svc, claims.user_id, method=Method(data.method),
                                       code=data.code, info=request_info(request))
        return VerifiedResponse(success=True, method=data.method)

    @get("/verification/status", security=BEARER, responses=problems(401))
    async def verification_status(self, claims: AccessClaims) -> VerificationStatus:
        """Which contacts are verified, values masked (`ab***@example.com`,
        `+1******2671`); push counts as verified with at least one registered device.
        `canBeOnCall`: email, phone and push are all verified."""
        found = await verification.contact_status(claims.user_id)
        return VerificationStatus(
            email=ContactState(found.email, found.email_verified),
            phone=ContactState(found.phone, found.phone_verified),
            push=PushState(found.push_devices > 0, found.push_devices),
            all_verified=found.all_verified, can_be_on_call=found.can_be_on_call)

    @get("/preferences", security=BEARER, responses=problems(401))
    async def get_preferences(self, claims: AccessClaims) -> PreferenceList:
        """The channels security alerts go on, by priority (1 first); an account that never
        saved a list has email enabled at priority 1."""
        return PreferenceList.of(await preferences.get_preferences(claims.user_id))

    @put("/preferences", security=BEARER, responses=problems(400, 401))
    async def put_preferences(self, request: Request, data: PreferenceList, svc: Services,
                              claims: AccessClaims) -> PreferenceList:
        """Replace the whole list (channels `email`, `sms`, `push`, `slack`, `voice`, each
        once; priorities 1-10). Alerts go on the enabled channels the account has verified,
        in priority order; critical ones (password reset/changed, token reuse, two-factor
        off, deactivation) always by email too. Push, slack and voice have no sender yet:
        alerts for them are recorded, and go by email while nothing else can deliver."""
        wanted = [Preference(p.channel, p.enabled, p.priority) for p in data.preferences]
        return PreferenceList.of(await preferences.replace_preferences(
            svc, claims.user_id, wanted, info=request_info(request)))

    @post("/devices", status_code=201, security=BEARER, responses={
        **problems(400, 401),
        200: ResponseSpec(data_container=DeviceOut, description="The device was already "
                          "registered: its name and last-seen time are updated.")})
    async def register_device(self, request: Request, data: RegisterDeviceRequest,
                              svc: Services, claims: AccessClaims) -> Response[DeviceOut]:
        """Register a push device (201), or refresh the caller's device with this token
        (200): one device per (account, deviceToken). The token is never shown again."""
        device, created = await devices.register_device(
            svc, claims.user_id, platform=data.platform, device_token=data.device_token,
            device_name=data.device_name, info=request_info(request))
        return Response(DeviceOut.of(device), status_code=201 if created else 200)

    @delete("/devices/{device_id:uuid}", status_code=204, security=BEARER,
            responses=problems(400, 401, 404))
    async def unregister_device(self, request: Request, device_id: uuid.UUID, svc: Services,
                                claims: AccessClaims) -> None:
        """Remove one of the caller's push devices (404 for anyone else's)."""
        await devices.unregister_device(svc, claims.user_id, device_id,
                                        info=request_info(request))


CONTROLLERS: list[type[Controller]] = [NotificationController]
