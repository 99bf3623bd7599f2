"""The second step of a sign-in: after a right first factor, an account with two-factor on
gets a challenge instead of a session (GoTrue's AAL2 step-up; Kratos' second login flow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.repositories import two_factor_challenges
from domain.names import AuthMethod
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair, open_session
from domain.tokens import hash_token, new_opaque_token


@dataclass(frozen=True, slots=True)
class TwoFactorRequired:
    """API.md TwoFactorRequired. token: opaque, 256 bits, lives ``two_factor_token_ttl`` s,
    stored only as its SHA-256; methods: ``totp`` | ``sms`` | ``backup``."""

    token: str
    methods: list[str]


async def sign_in_or_challenge(svc: Services, user: UserRecord, *, first_factor: AuthMethod,
                               info: RequestInfo, device_name: str | None = None
                               ) -> TokenPair | TwoFactorRequired:
    """Open a session for ``user`` who proved ``first_factor`` (password, magic link, ...),
    or, when two-factor is on, record a challenge bound to the user and that first factor
    and return TwoFactorRequired: no session exists until the challenge is answered."""
    methods = user.two_factor_methods
    if not methods:
        return await open_session(svc, user, amr=(first_factor,), info=info,
                                  device_name=device_name)
    raw = new_opaque_token()
    async with svc.unit_of_work(info) as uow:
        await two_factor_challenges.create(
            user_id=user.id, token_hash=hash_token(raw), first_factor=first_factor.value,
            device_name=device_name, now=uow.now, ip_address=info.ip_address,
            user_agent=info.user_agent,
            expires_at=uow.now + timedelta(seconds=svc.settings.two_factor_token_ttl))
    return TwoFactorRequired(raw, methods)
