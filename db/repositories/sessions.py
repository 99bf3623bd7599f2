"""Sessions (refresh-token families) and their refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.engine import is_sqlite
from db.tables import RefreshToken, Session
from domain.names import ContextType, MembershipStatus
from domain.records import ActiveContext, RefreshTokenRecord, SessionRecord, UserRecord

USER_COLUMNS = ("u.id AS user_id, u.email, u.password_hash, u.name, u.email_verified_at, u.roles, "
                "u.is_active, u.created_at, u.phone_number, u.phone_verified_at, "
                "u.mobile_enabled, u.totp_enabled_at, u.sms_two_factor_phone, "
                "u.backup_codes_remaining, u.push_device_count, u.account_type, u.nickname, "
                "u.avatar_url, u.personal_profile_id, u.last_login_at, u.updated_at, "
                "u.organization_count")
# The member's current role in the session's organization context, in the statement that
# reads the session: a membership that is gone or suspended matches nothing (no ctx issued).
ORG_ROLE_JOIN = (f"LEFT JOIN memberships m ON {{s}}.context_type = '{ContextType.ORGANIZATION}' "
                 "AND m.organization_id = {s}.context_id AND m.user_id = {s}.user_id "
                 f"AND m.status = '{MembershipStatus.ACTIVE}'")


@dataclass(frozen=True, slots=True)
class Rotated:
    """A session whose current refresh token was just rotated (the PostgreSQL fast path).
    signed_in_at: the session's creation, when its holder signed in (``auth_time``)."""

    session_id: uuid.UUID
    amr: tuple[str, ...]
    signed_in_at: datetime
    context: ActiveContext | None
    user: UserRecord


def _amr(stored: str) -> tuple[str, ...]:
    return tuple(stored.split())


def _user(row: dict) -> UserRecord:
    return UserRecord(id=row["user_id"], email=row["email"], password_hash=row["password_hash"],
                      name=row["name"], email_verified_at=row["email_verified_at"],
                      roles=list(row["roles"]), is_active=bool(row["is_active"]),
                      created_at=row["created_at"], phone_number=row["phone_number"],
                      phone_verified_at=row["phone_verified_at"],
                      mobile_enabled=bool(row["mobile_enabled"]),
                      totp_enabled_at=row["totp_enabled_at"],
                      sms_two_factor_phone=row["sms_two_factor_phone"],
                      backup_codes_remaining=row["backup_codes_remaining"],
                      push_device_count=row["push_device_count"],
                      account_type=row["account_type"], nickname=row["nickname"],
                      avatar_url=row["avatar_url"],
                      personal_profile_id=row["personal_profile_id"],
                      last_login_at=row["last_login_at"], updated_at=row["updated_at"],
                      organization_count=row["organization_count"])


def _context(row: dict) -> ActiveContext | None:
    """The session's context from a row with context_type, context_id, org_role and the
    user's personal_profile_id; None when it is no longer valid (membership gone or
    suspended, the personal profile not the user's)."""
    kind, context_id = row["context_type"], row["context_id"]
    if kind == ContextType.ORGANIZATION and row["org_role"] is not None:
        return ActiveContext(kind, context_id, row["org_role"])
    if kind == ContextType.PERSONAL and context_id is not None \
            and context_id == row["personal_profile_id"]:
        return ActiveContext(kind, context_id)
    return None


async def create(*, user_id: uuid.UUID, kind: str, amr: Sequence[str], now: datetime,
                 expires_at: datetime, device_name: str | None, platform: str | None,
                 user_agent: str | None, ip_address: str | None,
                 context: ActiveContext | None = None,
                 auth_time: datetime | None = None) -> uuid.UUID:
    """Insert a session, in ``context`` when given; returns its id. amr: RFC 8176 method
    names, stored space-separated."""
    session_id = uuid.uuid4()
    await Session.insert(
        Session(id=session_id, user_id=user_id, kind=kind, amr=" ".join(amr),
                device_name=device_name,
                platform=platform, user_agent=user_agent, ip_address=ip_address,
                created_at=now, last_used_at=now, expires_at=expires_at,
                context_type=context.type if context else None,
                context_id=context.id if context else None, auth_time=auth_time)
    )
    return session_id


async def add_refresh_token(*, session_id: uuid.UUID, token_hash: str, now: datetime,
                            parent_id: uuid.UUID | None = None) -> None:
    await RefreshToken.insert(
        RefreshToken(id=uuid.uuid4(), session_id=session_id, token_hash=token_hash,
                     parent_id=parent_id, created_at=now)
    )


async def find_refresh_token_for_update(token_hash: str) -> RefreshTokenRecord | None:
    """Refresh token by hash with its session, its still valid context and the user; the
    token row is locked on PostgreSQL so concurrent rotations of one token serialize
    (SQLite: BEGIN IMMEDIATE)."""
    lock = "" if is_sqlite() else " FOR UPDATE OF rt"
    rows = await RefreshToken.raw(
        "SELECT rt.id, rt.session_id, rt.rotated_at, s.amr AS session_amr, "
        "s.kind AS session_kind, "
        "s.created_at AS session_created_at, "
        "s.auth_time AS signed_in_at, "  # not COALESCE: SQLite types no expression
        "s.expires_at AS session_expires_at, s.device_name AS session_device, "
        "s.ip_address AS session_ip, s.user_agent AS session_user_agent, "
        "s.context_type, s.context_id, m.role AS org_role, "
        f"s.revoked_at AS session_revoked_at, {USER_COLUMNS} "
        "FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id "
        f"JOIN users u ON u.id = s.user_id {ORG_ROLE_JOIN.format(s='s')} "
        "WHERE rt.token_hash = {}" + lock,
        token_hash,
    )
    if not rows:
        return None
    row = rows[0]
    return RefreshTokenRecord(id=row["id"], session_id=row["session_id"],
                              rotated_at=row["rotated_at"], session_kind=row["session_kind"],
                              session_amr=_amr(row["session_amr"]),
                              session_created_at=row["session_created_at"],
                              session_expires_at=row["session_expires_at"],
                              session_revoked_at=row["session_revoked_at"],
                              session_device=row["session_device"], session_ip=row["session_ip"],
                              session_user_agent=row["session_user_agent"], user=_user(row),
                              session_context=_context(row),
                              session_signed_in_at=row["signed_in_at"])


# One statement, so one round trip: lock the token if it is the current one of a live session
# of an active user, mark it rotated, insert its successor, slide the session, return the user
# with the session's sign-in time, its context and the member's current role in it.
# A token that is not current matches nothing and the caller takes the general path. Under
# READ COMMITTED a racing request waits on the row lock, re-checks rotated_at IS NULL after the
# winner commits, and matches nothing.
ROTATE_CURRENT = f"""
WITH cur AS (
    SELECT rt.id, rt.session_id FROM refresh_tokens rt
    JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id
    WHERE rt.token_hash = {{}} AND rt.rotated_at IS NULL AND s.revoked_at IS NULL
      AND s.expires_at > {{}} AND u.is_active
    FOR UPDATE OF rt
), rotated AS (
    UPDATE refresh_tokens SET rotated_at = {{}} FROM cur WHERE refresh_tokens.id = cur.id
    RETURNING refresh_tokens.id, refresh_tokens.session_id
), child AS (
    INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, created_at)
    SELECT {{}}, session_id, {{}}, id, {{}} FROM rotated RETURNING session_id
), touched AS (
    UPDATE sessions SET last_used_at = {{}},
        expires_at = CASE WHEN sessions.kind = 'mobile' THEN sessions.expires_at
                     ELSE LEAST({{}}, sessions.created_at + {{}}) END FROM child
    WHERE sessions.id = child.session_id RETURNING sessions.id, sessions.user_id, sessions.amr,
        COALESCE(sessions.auth_time, sessions.created_at) AS signed_in_at,
        sessions.context_type, sessions.context_id
)
SELECT touched.id AS session_id, touched.amr, touched.signed_in_at,
    touched.context_type, touched.context_id, m.role AS org_role, {USER_COLUMNS}
FROM touched JOIN users u ON u.id = touched.user_id {ORG_ROLE_JOIN.format(s="touched")}
"""


async def rotate_current(*, token_hash: str, child_hash: str, now: datetime,
                         idle_expiry: datetime, lifetime: timedelta) -> Rotated | None:
    """Fast path of a refresh on PostgreSQL: the session when ``token_hash`` was the current
    token and is now rotated to ``child_hash``; the session then expires at ``idle_expiry``
    or ``lifetime`` after its creation, whichever is first. None otherwise, and always on
    SQLite (no data-modifying CTEs there), where the general path does the same in BEGIN
    IMMEDIATE."""
    if is_sqlite():
        return None
    rows = await RefreshToken.raw(ROTATE_CURRENT, token_hash, now, now, uuid.uuid4(),
                                  child_hash, now, now, idle_expiry, lifetime)
    if not rows:
        return None
    row = rows[0]
    return Rotated(session_id=row["session_id"], amr=_amr(row["amr"]),
                   signed_in_at=row["signed_in_at"], context=_context(row),
                   user=_user(row))


async def mark_rotated(token_id: uuid.UUID, now: datetime) -> bool:
    """Conditionally set rotated_at; False when it was already rotated."""
    rows = await RefreshToken.update({RefreshToken.rotated_at: now}).where(
        (RefreshToken.id == token_id) & RefreshToken.rotated_at.is_null()
    ).returning(RefreshToken.id)
    return bool(rows)


async def touch(session_id: uuid.UUID, *, now: datetime, expires_at: datetime) -> None:
    """Record use of the session and slide its refresh expiry."""
    await Session.update({Session.last_used_at: now, Session.expires_at: expires_at}).where(
        Session.id == session_id
    )


async def revoke(session_id: uuid.UUID, *, now: datetime, reason: str,
                 user_id: uuid.UUID | None = None) -> bool:
    """End a live session (its refresh tokens die with it), only the user's own when
    ``user_id`` is given. False when there was no such live session."""
    where = (Session.id == session_id) & Session.revoked_at.is_null()
    if user_id is not None:
        where &= (Session.user_id == user_id) & (Session.expires_at > now)
    rows = await Session.update(
        {Session.revoked_at: now, Session.revoked_reason: str(reason)}
    ).where(where).returning(Session.id)
    return bool(rows)


async def revoke_all(user_id: uuid.UUID, *, now: datetime, reason: str,
                     keep: uuid.UUID | None = None) -> list[uuid.UUID]:
    """End every live session of the user except ``keep``; returns the ids ended."""
    where = (Session.user_id == user_id) & Session.revoked_at.is_null() & (
        Session.expires_at > now)
    if keep is not None:
        where &= Session.id != keep
    rows = await Session.update(
        {Session.revoked_at: now, Session.revoked_reason: str(reason)}
    ).where(where).returning(Session.id)
    return [r["id"] for r in rows]



async def list_active(user_id: uuid.UUID, now: datetime) -> list[SessionRecord]:
    """The user's live sessions, most recently used first."""
    rows = await Session.select(
        Session.id, Session.kind, Session.amr, Session.device_name, Session.platform,
        Session.user_agent, Session.ip_address, Session.created_at, Session.last_used_at,
        Session.expires_at,
    ).where((Session.user_id == user_id) & Session.revoked_at.is_null()
            & (Session.expires_at > now)).order_by(Session.last_used_at, ascending=False)
    return [SessionRecord(**{**row, "amr": _amr(row["amr"])}) for row in rows]


async def session_of_refresh_token(token_hash: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(session_id, user_id) for a refresh token hash, or None."""
    rows = await RefreshToken.raw(
        "SELECT rt.session_id, s.user_id FROM refresh_tokens rt "
        "JOIN sessions s ON s.id = rt.session_id WHERE rt.token_hash = {}", token_hash
    )
    return (rows[0]["session_id"], rows[0]["user_id"]) if rows else None


async def is_active(session_id: uuid.UUID, now: datetime) -> bool:
    """True when the session exists, is not revoked and has not expired."""
    row = await Session.select(Session.revoked_at, Session.expires_at).where(
        Session.id == session_id
    ).first()
    return bool(row) and row["revoked_at"] is None and row["expires_at"] > now


async def revoked_since(since: datetime) -> list[uuid.UUID]:
    """Ids of sessions revoked at or after ``since`` (to re-sync the Redis deny-list)."""
    rows = await Session.select(Session.id).where(Session.revoked_at >= since)
    return [r["id"] for r in rows]


async def clear_context(*, organization_id: uuid.UUID, user_id: uuid.UUID | None = None) -> None:
    """Forget the active context ``organization_id`` on the user's sessions (every member's
    when ``user_id`` is None: the organization was deleted), so the next refresh issues an
    access token without ``ctx`` (API.md POST /v1/auth/context)."""
    where = (Session.context_type == "organization") & (Session.context_id == organization_id)
    if user_id is not None:
        where &= Session.user_id == user_id
    await Session.update({Session.context_type: None, Session.context_id: None}).where(where)


async def set_context(session_id: uuid.UUID, *, user_id: uuid.UUID, context: ActiveContext,
                      now: datetime) -> tuple[datetime, tuple[str, ...]] | None:
    """Make ``context`` the live session's active context, so every refresh re-issues it;
    returns the session's (auth_time, amr), or None when it is not a live session of
    ``user_id``."""
    rows = await Session.update(
        {Session.context_type: context.type, Session.context_id: context.id}
    ).where((Session.id == session_id) & (Session.user_id == user_id)
            & Session.revoked_at.is_null() & (Session.expires_at > now)
            ).returning(Session.created_at, Session.auth_time, Session.amr)
    if not rows:
        return None
    return rows[0]["auth_time"] or rows[0]["created_at"], _amr(rows[0]["amr"])


async def context_of(session_id: uuid.UUID) -> ActiveContext | None:
    """The session's active context while it is still valid (as a refresh would issue it),
    with the member's current role; None otherwise."""
    rows = await Session.raw(
        "SELECT s.context_type, s.context_id, m.role AS org_role, u.personal_profile_id "
        f"FROM sessions s JOIN users u ON u.id = s.user_id {ORG_ROLE_JOIN.format(s='s')} "
        "WHERE s.id = {}", session_id)
    return _context(rows[0]) if rows else None
