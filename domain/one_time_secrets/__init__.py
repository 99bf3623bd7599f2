"""One-time secrets in one place: issue and consume link tokens and short numeric codes.

Secrets are minted by the worker right before the message that carries them is sent, so
the raw value exists only in worker memory and in the message (ARCHITECTURE.md). The
database keeps SHA-256 of a link token (256 bits need no key) and a keyed HMAC of a code
(10^6 values would fall to a plain hash at once).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from db.engine import in_transaction
from db.repositories import one_time_tokens, otp_codes
from domain.errors import InvalidOneTimeToken, OneTimeTokenExpired, TooManyAttempts
from domain.one_time_secrets.purposes import PURPOSES, Purpose, SecretForm
from domain.records import OneTimeTokenRecord, OtpCodeRecord
from domain.settings import Settings
from domain.tokens import hash_token, keyed_hmac, new_opaque_token

__all__ = ["PURPOSES", "Purpose", "SecretForm", "check_link", "consume_code", "consume_link",
           "issue_code", "issue_link"]


async def issue_link(purpose: Purpose, *, user_id: uuid.UUID, settings: Settings,
                     now: datetime, ip_address: str | None = None,
                     user_agent: str | None = None) -> tuple[str, int]:
    """Mint a link token for ``purpose``: (raw token, ttl seconds). Stores its SHA-256 and,
    when the purpose supersedes, deletes the user's unused older ones. Call in a transaction."""
    raw, ttl = new_opaque_token(), purpose.ttl(settings)
    await one_time_tokens.add(user_id=user_id, purpose=purpose.name, token_hash=hash_token(raw),
                              expires_at=now + timedelta(seconds=ttl), now=now,
                              ip_address=ip_address, user_agent=user_agent,
                              supersede=purpose.supersedes)
    return raw, ttl


def _valid(record: OneTimeTokenRecord | None, purpose: Purpose,
           now: datetime) -> OneTimeTokenRecord:
    if record is None or record.purpose != purpose.name or record.used_at is not None:
        raise InvalidOneTimeToken()
    if record.expires_at <= now:
        raise OneTimeTokenExpired()
    return record


async def check_link(purpose: Purpose, raw: str, *, now: datetime) -> OneTimeTokenRecord:
    """The token's record if it is a live token of ``purpose``, without using it (to check
    before slow work such as hashing a password). raises InvalidOneTimeToken (unknown, used,
    other purpose) or OneTimeTokenExpired."""
    return _valid(await one_time_tokens.find(hash_token(raw)), purpose, now)


async def consume_link(purpose: Purpose, raw: str, *, now: datetime) -> OneTimeTokenRecord:
    """Use the token up; call inside the transaction of the change it authorizes, so exactly
    one of several parallel requests with one token succeeds. raises InvalidOneTimeToken or
    OneTimeTokenExpired."""
    record = _valid(await one_time_tokens.find_for_update(hash_token(raw)), purpose, now)
    if not await one_time_tokens.mark_used(record.id, now):
        raise InvalidOneTimeToken()  # a parallel request used it first
    return record


def code_key(settings: Settings) -> bytes:
    """The HMAC key of short codes, derived from PASSWORD_PEPPER with its own label."""
    return hmac.new(settings.password_pepper.encode(), b"latchkey one-time codes",
                    "sha256").digest()


async def issue_code(purpose: Purpose, *, user_id: uuid.UUID, settings: Settings,
                     now: datetime, target: str | None = None) -> tuple[str, int]:
    """Mint a ``purpose.digits``-digit code: (code, ttl seconds). Stores its keyed HMAC and
    ``target`` (where it was sent) and, when the purpose supersedes, deletes the user's unused
    older ones."""
    code = f"{secrets.randbelow(10 ** purpose.digits):0{purpose.digits}d}"
    ttl = purpose.ttl(settings)
    await otp_codes.add(user_id=user_id, purpose=purpose.name, now=now,
                        code_hmac=keyed_hmac(code_key(settings), purpose.name, str(user_id), code),
                        expires_at=now + timedelta(seconds=ttl), supersede=purpose.supersedes,
                        target=target)
    return code, ttl


async def consume_code(purpose: Purpose, *, user_id: uuid.UUID, code: str, settings: Settings,
                       now: datetime) -> OtpCodeRecord:
    """Check and use up the user's live code of ``purpose``.

    Each call first reserves one attempt in a single conditional UPDATE, so parallel guesses
    get at most ``max_attempts`` comparisons in all (OWASP ASVS 2.7.x / 2.8.x). Call it
    outside any transaction, before the unit of work of the change it authorizes: the
    counted attempt must commit even when the guess is wrong (a rollback would undo it and
    allow unlimited guesses). A right code is used up at once; should the change then fail,
    the person asks for a new one. Returns the used code's record (its ``target``).
    raises InvalidOneTimeToken (wrong code, none issued), OneTimeTokenExpired,
    TooManyAttempts (the code is void; ask for a new one), RuntimeError (called inside a
    transaction: a wiring bug).
    """
    if in_transaction():
        raise RuntimeError("consume_code must run outside a transaction (attempts must stick)")
    candidates = await otp_codes.reserve_attempt(user_id=user_id, purpose=purpose.name,
                                                 now=now, max_attempts=purpose.max_attempts)
    if not candidates:
        latest = await otp_codes.latest(user_id=user_id, purpose=purpose.name)
        if latest is None:
            raise InvalidOneTimeToken("The code is incorrect.")
        if latest.expires_at <= now:
            raise OneTimeTokenExpired("The code has expired. Ask for a new one.")
        raise TooManyAttempts()
    expected = keyed_hmac(code_key(settings), purpose.name, str(user_id), code)
    for record in candidates:
        # compare_digest: no timing signal on how much of the code was right
        if hmac.compare_digest(record.code_hmac, expected) and await otp_codes.mark_used(
                record.id, now):
            return record
    raise InvalidOneTimeToken("The code is incorrect.")
