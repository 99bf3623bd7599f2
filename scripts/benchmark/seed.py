"""Seed the bench database directly through the repositories (fast, no HTTP)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from db.engine import is_sqlite
from db.repositories import outbox, sessions, users
from db.tables import User
from db.transaction import transaction
from domain.passwords.hashing import PasswordHasher
from domain.records import NewMessage
from domain.tokens import AccessTokenCodec, hash_token, new_opaque_token

PASSWORD = "bench password, long enough"


async def seed_users(count: int, *, rounds: int, pepper: str) -> list[uuid.UUID]:
    """``count`` verified users bench-<i>@example.com sharing one password hash."""
    hasher = PasswordHasher(rounds=rounds, pepper=pepper)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()
    now = datetime.now(UTC)
    ids = []
    async with transaction():
        for i in range(count):
            user = await users.insert(email=f"bench-{i}@example.com", name=None, now=now,
                                      password_hash=password_hash)
            ids.append(user.id)
        await User.update({User.email_verified_at: now}, force=True)
    return ids


async def seed_sessions(user_ids: list[uuid.UUID], count: int
                        ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """``count`` web sessions round-robin over users: (user_id, session_id, refresh token)."""
    now = datetime.now(UTC)
    made = []
    async with transaction():
        for i in range(count):
            user_id = user_ids[i % len(user_ids)]
            session_id = await sessions.create(
                user_id=user_id, kind="web", amr=("pwd",), now=now,
                expires_at=now + timedelta(days=7),
                device_name="bench", platform="unknown", user_agent="wrk",
                ip_address="127.0.0.1")
            token = new_opaque_token()
            await sessions.add_refresh_token(session_id=session_id, token_hash=hash_token(token),
                                             now=now)
            made.append((user_id, session_id, token))
    return made


def access_tokens(made: list[tuple[uuid.UUID, uuid.UUID, str]], secret: str) -> list[str]:
    codec = AccessTokenCodec(secret=secret, issuer="latchkey", audience="latchkey", ttl=86400)
    now = datetime.now(UTC)
    return [codec.issue(user_id=u, session_id=s, now=now) for u, s, _ in made]


async def seed_messages(user_ids: list[uuid.UUID], count: int) -> list[uuid.UUID]:
    """``count`` pending verification emails in one transaction (not yet enqueued)."""
    now = datetime.now(UTC)
    messages = [NewMessage(id=uuid.uuid4(), kind="verify_email", channel="email",
                           recipient=f"bench-{i}@example.com", user_id=user_ids[i % len(user_ids)],
                           data={}, created_at=now) for i in range(count)]
    async with transaction():
        await outbox.add_many(messages)
    return [m.id for m in messages]


async def seed_expired(user_id: uuid.UUID, rows: int) -> float:
    """Insert ``rows`` expired rows, half one-time tokens, half sessions; returns seconds."""
    started = time.perf_counter()
    half = rows // 2
    past = datetime.now(UTC) - timedelta(days=30)
    if is_sqlite():
        series = ("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {}) ")
        uid = "lower(hex(randomblob(16)))"
        token_hash = "printf('%064d', i)"
    else:
        series = "WITH s AS (SELECT generate_series(1, {}) AS i) "
        uid = "gen_random_uuid()"
        token_hash = "lpad(i::text, 64, '0')"
    await User.raw(
        series + "INSERT INTO one_time_tokens (id, user_id, purpose, token_hash, expires_at, "
        f"created_at) SELECT {uid}, {{}}, 'verify_email', {token_hash}, {{}}, {{}} FROM s",
        half, user_id, past, past)
    await User.raw(
        series + "INSERT INTO sessions (id, user_id, kind, created_at, last_used_at, expires_at)"
        f" SELECT {uid}, {{}}, 'web', {{}}, {{}}, {{}} FROM s", rows - half, user_id, past, past,
        past)
    return time.perf_counter() - started
