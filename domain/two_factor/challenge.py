"""The second step of a sign-in: after a right first factor, an account with two-factor on
gets a challenge instead of a session (GoTrue's AAL2 step-up; Kratos' second login flow).

A challenge is answered once: each answer first reserves one of ``MAX_ATTEMPTS`` attempts in
a conditional UPDATE (so parallel guesses get no more checks than that), and the right one
marks it used in the transaction that opens the session (so one token yields one session).
Every answer also counts toward the account lockout of password sign-in (OWASP ASVS 2.2.1).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from db.repositories import audit, memberships, two_factor_challenges, users
from domain.accounts.emails import normalize_email
from domain.errors import (
    InvalidCode,
    InvalidOneTimeToken,
    OneTimeTokenExpired,
    RateLimited,
    TooManyAttempts,
    ValidationFailed,
)
from domain.messages import kinds
from domain.names import AuditAction, AuthMethod, ContextType, MembershipStatus
from domain.records import ActiveContext, TwoFactorChallengeRecord, UserRecord
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair, open_session, start_session
from domain.tokens import hash_token, new_opaque_token
from domain.two_factor import second_factors

MAX_ATTEMPTS = 5  # wrong answers that end a challenge (API.md /challenge/verify)
USED = "The two-factor token is invalid or has already been used."

# RFC 8176 §2 value recorded in ``amr`` for each challenge method
SECOND_FACTOR = {"totp": AuthMethod.ONE_TIME_PASSWORD, "sms": AuthMethod.SMS,
                 "backup": AuthMethod.BACKUP_CODE}


@dataclass(frozen=True, slots=True)
class TwoFactorRequired:
    """API.md TwoFactorRequired. token: opaque, 256 bits, lives ``two_factor_token_ttl`` s,
    stored only as its SHA-256; methods: ``totp`` | ``sms`` | ``backup``."""

    token: str
    methods: list[str]


async def sign_in_or_challenge(svc: Services, user: UserRecord, *, first_factor: AuthMethod,
                               info: RequestInfo, device_name: str | None = None,
                               context: ActiveContext | None = None,
                               proved_second: AuthMethod | None = None
                               ) -> TokenPair | TwoFactorRequired:
    """Open a session for ``user`` who proved ``first_factor`` (password, magic link, ...),
    or, when two-factor is on, record a challenge bound to the user and that first factor
    and return TwoFactorRequired: no session exists until the challenge is answered.

    context: the organization the session starts in (checked by the caller; a challenge
    keeps its id and checks the membership again when answered). proved_second: a second
    factor proved elsewhere (``mfa`` of a trusted identity provider): no challenge, and it
    joins ``amr``."""
    methods = user.two_factor_methods
    if not methods or proved_second is not None:
        amr = (first_factor,) if proved_second is None else (first_factor, proved_second)
        if context is None:
            return await open_session(svc, user, amr=amr, info=info, device_name=device_name)
        return await _open_in(svc, user, amr, context, info=info, device_name=device_name)
    raw = new_opaque_token()
    async with svc.unit_of_work(info) as uow:
        await two_factor_challenges.create(
            user_id=user.id, token_hash=hash_token(raw), first_factor=first_factor.value,
            device_name=device_name, now=uow.now, ip_address=info.ip_address,
            user_agent=info.user_agent, context_id=context.id if context else None,
            expires_at=uow.now + timedelta(seconds=svc.settings.two_factor_token_ttl))
    return TwoFactorRequired(raw, methods)


async def _open_in(svc: Services, user: UserRecord, amr: tuple[AuthMethod, ...],
                   context: ActiveContext, *, info: RequestInfo,
                   device_name: str | None) -> TokenPair:
    """open_session's rules (a new-device alert), with an active context."""
    new_device = await audit.is_new_device(
        user.id, info.user_agent,
        since=svc.clock() - timedelta(seconds=svc.settings.new_device_window))
    async with svc.unit_of_work(info) as uow:
        pair = await start_session(svc, uow, user, amr=amr, device_name=device_name,
                                   context=context)
        if new_device:
            uow.alert(kinds.NEW_DEVICE_ALERT, user=user, device_name=device_name)
    return pair


async def live_challenge(svc: Services, token: str
                         ) -> tuple[TwoFactorChallengeRecord, UserRecord]:
    """The pending challenge of ``token`` and its (active) user, without using it.
    raises InvalidOneTimeToken (unknown, answered, or the account was deactivated),
    OneTimeTokenExpired (past ``two_factor_token_ttl``), TooManyAttempts (ended by
    ``MAX_ATTEMPTS`` wrong answers: sign in again)."""
    challenge = await two_factor_challenges.find(hash_token(token))
    if challenge is None or challenge.used_at is not None:
        raise InvalidOneTimeToken(USED)
    if challenge.expires_at <= svc.clock():
        raise OneTimeTokenExpired("The two-factor token has expired. Sign in again.")
    if challenge.attempts >= MAX_ATTEMPTS:
        raise TooManyAttempts()
    user = await users.get_by_id(challenge.user_id)
    if user is None or not user.is_active:  # same answer as an unknown token
        raise InvalidOneTimeToken(USED)
    return challenge, user


async def verify_challenge(svc: Services, *, token: str, method: str, code: str,
                           info: RequestInfo) -> TokenPair:
    """Answer the challenge of ``token`` with ``code`` of ``method`` (``totp`` | ``sms`` |
    ``backup``) and open the session, ``amr`` = (first factor, second): ``["pwd", "otp"]``,
    ``["email", "sms"]``, ``["pwd", "backup"]`` (RFC 8176 §2). The device name given at
    sign-in carries over.

    raises InvalidOneTimeToken / OneTimeTokenExpired (the token: unknown or used, expired),
    ValidationFailed (``method`` is not enabled for the account), InvalidCode (wrong code: one
    attempt of ``MAX_ATTEMPTS`` and of the account lockout gone), TooManyAttempts (the
    ``MAX_ATTEMPTS``-th wrong code ended the challenge, or it had ended), RateLimited (the
    account is locked out: ``lockout_duration`` s).
    """
    challenge, user = await live_challenge(svc, token)
    if method not in user.two_factor_methods:  # NIST 800-63B: only enrolled factors count
        raise ValidationFailed([("method", f"{method} is not enabled for this account; "
                                           f"use one of {', '.join(user.two_factor_methods)}")])
    attempt = await two_factor_challenges.reserve_attempt(
        challenge.id, now=svc.clock(), max_attempts=MAX_ATTEMPTS)
    if attempt is None:  # a parallel answer used it or took the last attempt
        await live_challenge(svc, token)
        raise InvalidOneTimeToken(USED)
    account = normalize_email(user.email)
    locked_attempt, _ = await svc.lockout.begin(account)
    if locked_attempt is None:
        raise RateLimited(svc.settings.lockout_duration,
                          limit=f"sign-in attempts per account, {svc.settings.lockout_threshold}"
                                f" failures in {svc.settings.lockout_window} s",
                          setting="LOCKOUT_THRESHOLD")
    refusal = await second_factors.check(svc, user, method, code, info=info)
    if refusal is not None:
        await _wrong_code(svc, user, account, locked_attempt, method=method, info=info)
        if attempt >= MAX_ATTEMPTS:
            raise TooManyAttempts()
        raise InvalidCode(refusal)
    await svc.lockout.succeeded(account)
    return await _open(svc, challenge, user, SECOND_FACTOR[method], info=info)


async def _wrong_code(svc: Services, user: UserRecord, account: str, attempt: int, *,
                      method: str, info: RequestInfo) -> None:
    locked = await svc.lockout.failed(account, attempt)
    async with svc.unit_of_work(info) as uow:
        uow.audit(AuditAction.TWO_FACTOR_CHALLENGE_FAILED, user.id, method=method)
        if locked:
            uow.audit(AuditAction.LOCKOUT_STARTED, user.id,
                      seconds=svc.settings.lockout_duration)


async def _open(svc: Services, challenge: TwoFactorChallengeRecord, user: UserRecord,
                second: AuthMethod, *, info: RequestInfo) -> TokenPair:
    """Use the challenge up and open the session in one transaction (open_session's rules:
    a new-device alert for a device not seen for ``new_device_window`` s), in the
    challenge's organization when the person is still an active member of it."""
    new_device = await audit.is_new_device(
        user.id, info.user_agent,
        since=svc.clock() - timedelta(seconds=svc.settings.new_device_window))
    async with svc.unit_of_work(info) as uow:
        marked, context_id = await two_factor_challenges.mark_used(challenge.id, uow.now)
        if not marked:
            raise InvalidOneTimeToken(USED)
        # read again: the profile in the pair shows the backup code just used
        user = await users.get_by_id(user.id) or user
        pair = await start_session(svc, uow, user,
                                   amr=(AuthMethod(challenge.first_factor), second),
                                   device_name=challenge.device_name,
                                   context=await _context(context_id, user))
        if new_device:
            uow.alert(kinds.NEW_DEVICE_ALERT, user=user, device_name=challenge.device_name)
    return pair


async def _context(organization_id: uuid.UUID | None, user: UserRecord) -> ActiveContext | None:
    """The organization context a challenge was started for, if its membership is still
    active (locked until commit, so a removal cannot slip in); else no context."""
    if organization_id is None:
        return None
    membership = await memberships.get(organization_id, user.id, for_update=True)
    if membership is None or membership.status != MembershipStatus.ACTIVE:
        return None
    return ActiveContext(ContextType.ORGANIZATION.value, organization_id, membership.role)
