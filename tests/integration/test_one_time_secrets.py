"""One-time secrets on the real database: link tokens and short codes, issue and consume."""

from __future__ import annotations

import asyncio

import pytest

from db.repositories import users
from db.tables import OneTimeToken, OtpCode
from db.transaction import transaction
from domain import one_time_secrets
from domain.errors import InvalidOneTimeToken, OneTimeTokenExpired, TooManyAttempts
from domain.one_time_secrets import Purpose, SecretForm, purposes

# Declared here, not registered: a code purpose as a capability would declare it.
CODE = Purpose("test_code", SecretForm.CODE, "password_reset_ttl", max_attempts=3)


@pytest.fixture
async def user(settings, clock):
    return await users.insert(email="secrets@example.com", password_hash="x", name=None,
                              now=clock())


async def issue_link(settings, clock, user, purpose=purposes.RESET_PASSWORD) -> str:
    async with transaction():
        raw, _ = await one_time_secrets.issue_link(purpose, user_id=user.id,
                                                   settings=settings, now=clock())
    return raw


async def issue_code(settings, clock, user) -> str:
    async with transaction():
        code, ttl = await one_time_secrets.issue_code(CODE, user_id=user.id, settings=settings,
                                                      now=clock())
    assert ttl == settings.password_reset_ttl and len(code) == 6 and code.isdigit()
    return code


async def consume_code(settings, clock, user, code):
    await one_time_secrets.consume_code(CODE, user_id=user.id, code=code, settings=settings,
                                        now=clock())


async def test_a_link_is_stored_hashed_and_works_once(settings, clock, user):
    raw = await issue_link(settings, clock, user)
    stored = await OneTimeToken.select(OneTimeToken.token_hash).first()
    assert stored["token_hash"] != raw and len(stored["token_hash"]) == 64
    async with transaction():
        record = await one_time_secrets.consume_link(purposes.RESET_PASSWORD, raw, now=clock())
    assert record.user_id == user.id
    with pytest.raises(InvalidOneTimeToken):
        async with transaction():
            await one_time_secrets.consume_link(purposes.RESET_PASSWORD, raw, now=clock())


async def test_a_link_of_another_purpose_or_past_its_lifetime_is_refused(settings, clock, user):
    raw = await issue_link(settings, clock, user)
    with pytest.raises(InvalidOneTimeToken) as wrong:
        await one_time_secrets.check_link(purposes.VERIFY_EMAIL, raw, now=clock())
    assert type(wrong.value) is InvalidOneTimeToken
    clock.advance(seconds=settings.password_reset_ttl)
    with pytest.raises(OneTimeTokenExpired):
        await one_time_secrets.check_link(purposes.RESET_PASSWORD, raw, now=clock())


async def test_a_newer_link_voids_the_older(settings, clock, user):
    old = await issue_link(settings, clock, user)
    new = await issue_link(settings, clock, user)
    with pytest.raises(InvalidOneTimeToken):
        await one_time_secrets.check_link(purposes.RESET_PASSWORD, old, now=clock())
    assert (await one_time_secrets.check_link(purposes.RESET_PASSWORD, new, now=clock()))


async def test_a_code_is_stored_as_a_keyed_hmac_and_works_once(settings, clock, user):
    code = await issue_code(settings, clock, user)
    stored = await OtpCode.select(OtpCode.code_hmac).first()
    assert code not in stored["code_hmac"] and len(stored["code_hmac"]) == 64
    await consume_code(settings, clock, user, code)
    with pytest.raises(InvalidOneTimeToken):
        await consume_code(settings, clock, user, code)


async def test_wrong_codes_count_and_the_limit_voids_even_the_right_one(settings, clock, user):
    code = await issue_code(settings, clock, user)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(CODE.max_attempts):
        with pytest.raises(InvalidOneTimeToken):
            await consume_code(settings, clock, user, wrong)
    with pytest.raises(TooManyAttempts):
        await consume_code(settings, clock, user, code)


async def test_parallel_guesses_get_no_more_than_max_attempts(settings, clock, user):
    code = await issue_code(settings, clock, user)
    guesses = [f"{(int(code) + i) % 10 ** 6:06d}" for i in range(1, 21)]
    results = await asyncio.gather(*(consume_code(settings, clock, user, g) for g in guesses),
                                   return_exceptions=True)
    assert sum(type(r) is InvalidOneTimeToken for r in results) == CODE.max_attempts
    assert sum(isinstance(r, TooManyAttempts) for r in results) == 20 - CODE.max_attempts
    row = await OtpCode.select(OtpCode.attempts).first()
    assert row["attempts"] == CODE.max_attempts


async def test_an_expired_code_and_a_superseded_code_are_refused(settings, clock, user):
    old = await issue_code(settings, clock, user)
    new = await issue_code(settings, clock, user)
    if old != new:
        with pytest.raises(InvalidOneTimeToken):
            await consume_code(settings, clock, user, old)
    clock.advance(seconds=settings.password_reset_ttl, microseconds=1)
    with pytest.raises(OneTimeTokenExpired):
        await consume_code(settings, clock, user, new)
    clock.advance(seconds=-settings.password_reset_ttl - 1)  # back within its lifetime
    await consume_code(settings, clock, user, new)


async def test_codes_refuse_to_be_checked_inside_a_transaction(settings, clock, user):
    """Inside a transaction a wrong guess would roll its counted attempt back."""
    code = await issue_code(settings, clock, user)
    with pytest.raises(RuntimeError):
        async with transaction():
            await consume_code(settings, clock, user, code)
    await consume_code(settings, clock, user, code)  # nothing was used by the refusal
