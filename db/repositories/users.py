"""Users repository: the narrow set of queries the use cases need."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query import OrderByRaw

from db.engine import is_sqlite
from db.tables import Membership, PushDevice, TeamMembership, User
from domain.names import Role
from domain.records import MembershipRecord, OrganizationRecord, PushDeviceRecord, UserRecord

FIELDS = (
    User.id, User.email, User.password_hash, User.name, User.email_verified_at,
    User.roles, User.is_active, User.created_at, User.phone_number, User.phone_verified_at,
    User.mobile_enabled, User.totp_enabled_at, User.sms_two_factor_phone,
    User.backup_codes_remaining, User.push_device_count, User.account_type, User.nickname,
    User.avatar_url, User.personal_profile_id, User.last_login_at, User.updated_at,
    User.organization_count, User.managed_by_organization_id, User.created_by_scim,
)
LIVE = User.deleted_at.is_null()  # an erased account (a tombstone) is never found
# The two lookups every profile read and sign-in makes, as fixed SQL: building the Piccolo
# query of 15 columns cost ~65 us per request, a tenth of GET /v1/auth/profile's time.
_SELECT = (f"SELECT {', '.join(f._meta.db_column_name for f in FIELDS)} FROM users "
           "WHERE {} AND deleted_at IS NULL LIMIT 1")
BY_ID = _SELECT.replace("{}", "id = {}", 1)
BY_EMAIL = _SELECT.replace("{}", "email_lower = {}", 1)
_ORGANIZATION_FIELDS = ("id", "name", "legal_business_name", "dba_name", "contact_email",
                        "timezone", "created_at", "updated_at")
# people's organizations with their membership (any status), in the order they joined
_ORGANIZATIONS_OF = (
    "SELECT " + ", ".join(f"o.{f} AS o_{f}" for f in _ORGANIZATION_FIELDS)
    + ", m.id, m.organization_id, m.user_id, m.role, m.status, m.created_at "
    "FROM memberships m JOIN organizations o ON o.id = m.organization_id "
    "WHERE m.user_id IN ({ids}) ORDER BY m.created_at, m.id")


def _record(row: dict | None) -> UserRecord | None:
    return UserRecord(**row) if row else None


def _raw_record(rows: list[dict[str, Any]]) -> UserRecord | None:
    if not rows:
        return None
    row = rows[0]  # booleans come back as integers from SQLite's raw rows
    return UserRecord(**{**row, "is_active": bool(row["is_active"]), "roles": list(row["roles"]),
                         "mobile_enabled": bool(row["mobile_enabled"]),
                         "created_by_scim": bool(row["created_by_scim"])})


async def get_by_email(email: str) -> UserRecord | None:
    """Find by email, case-insensitively (emails compare lower-cased; API.md register)."""
    return _raw_record(await User.raw(BY_EMAIL, email.lower()))


async def get_by_id(user_id: uuid.UUID) -> UserRecord | None:
    """The account, or None when there is none or it was erased."""
    return _raw_record(await User.raw(BY_ID, user_id))


async def email_exists(email: str) -> bool:
    return await User.exists().where(User.email_lower == email.lower())


async def insert(*, email: str, password_hash: str, name: str | None, now: datetime,
                 roles: Sequence[str] = ("user",), verified: bool = False,
                 account_type: str = "personal", nickname: str | None = None,
                 personal_profile_id: uuid.UUID | None = None) -> UserRecord:
    """Insert a user (unverified with the role "user" unless told otherwise); returns it.
    account_type: AccountType; personal_profile_id: the personal context's id (a personal
    account gets a fresh one when none is given; an organization account has none). The
    unique index on email_lower is the last word on duplicates (raises the driver's
    integrity error on a lost race)."""
    user_id = uuid.uuid4()
    verified_at = now if verified else None
    if account_type == "personal" and personal_profile_id is None:
        personal_profile_id = uuid.uuid4()  # every personal account has its personal context
    await User.insert(
        User(id=user_id, email=email, email_lower=email.lower(), password_hash=password_hash,
             name=name, created_at=now, updated_at=now, roles=list(roles),
             email_verified_at=verified_at, account_type=account_type, nickname=nickname,
             personal_profile_id=personal_profile_id)
    )
    return UserRecord(id=user_id, email=email, password_hash=password_hash, name=name,
                      email_verified_at=verified_at, roles=list(roles), is_active=True,
                      created_at=now, account_type=account_type, nickname=nickname,
                      personal_profile_id=personal_profile_id, updated_at=now)


async def mark_email_verified(user_id: uuid.UUID, now: datetime) -> bool:
    """Set email_verified_at once; True if it was not verified before."""
    rows = await User.update({User.email_verified_at: now, User.updated_at: now}).where(
        (User.id == user_id) & User.email_verified_at.is_null()
    ).returning(User.id)
    return bool(rows)


async def set_password_hash(user_id: uuid.UUID, password_hash: str, now: datetime) -> None:
    await User.update({User.password_hash: password_hash, User.updated_at: now}).where(
        User.id == user_id
    )


async def record_login(user_id: uuid.UUID, now: datetime) -> None:
    """Set ``last_login_at`` (API.md Profile ``lastLoginAt``): a session was just opened.
    Not a profile change: ``updated_at`` stays. Call in the transaction opening it."""
    await User.update({User.last_login_at: now}).where(User.id == user_id)


async def update_profile(user_id: uuid.UUID, *, now: datetime, **fields: Any) -> None:
    """Set profile columns of a live account: ``name``, ``nickname``, ``avatar_url``
    (https, checked), ``personal_profile_id``, ``phone_number`` (E.164 or None; a new
    value clears ``phone_verified_at``), ``roles``, ``is_active``, ``email_verified`` (True:
    verified now, kept when it already was). Call inside a transaction."""
    values: dict[Any, Any] = {User.updated_at: now}
    for name in ("name", "nickname", "avatar_url", "personal_profile_id"):
        if name in fields:
            values[User._meta.get_column_by_name(name)] = fields[name]
    if "phone_number" in fields:
        values[User.phone_number] = fields["phone_number"]
        values[User.phone_verified_at] = None
    if "roles" in fields:
        values[User.roles] = list(fields["roles"])
    if "is_active" in fields:
        values[User.is_active] = bool(fields["is_active"])
    await User.update(values).where((User.id == user_id) & LIVE)
    if fields.get("email_verified"):
        await mark_email_verified(user_id, now)


async def lock_active_admins() -> list[uuid.UUID]:
    """Ids of the active admins, row-locked on PostgreSQL until the transaction ends (SQLite:
    BEGIN IMMEDIATE already serializes writers), so two admins demoting or deactivating each
    other at once cannot both pass a "not the last admin" check. Call inside a transaction."""
    query = User.select(User.id).where(
        User.roles.any(Role.ADMIN.value) & User.is_active.eq(True) & LIVE)
    if not is_sqlite():
        query = query.lock_rows()
    return [row["id"] for row in await query]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(*, role: str | None, is_active: bool | None, q: str | None, limit: int,
                 offset: int, team_id: uuid.UUID | None = None) -> tuple[list[UserRecord], int]:
    """(a page of live accounts, how many match in all), ordered by name (case-insensitive,
    accounts without a name last), then email. ``q``: a substring of the email or the name,
    case-insensitive, with LIKE wildcards taken literally; ``team_id``: members of that
    team (any team role); ``is_active`` None: active or not."""
    where: Any = LIVE
    if role is not None:
        where &= User.roles.any(role)
    if is_active is not None:
        where &= User.is_active.eq(is_active)
    if team_id is not None:
        where &= User.id.is_in(TeamMembership.select(TeamMembership.user_id).where(
            TeamMembership.team_id == team_id))
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        where &= WhereRaw("(email_lower LIKE {} ESCAPE '\\' OR lower(name) LIKE {} "
                          "ESCAPE '\\')", pattern, pattern)
    rows = await User.select(*FIELDS).where(where).order_by(
        OrderByRaw("CASE WHEN name IS NULL THEN 1 ELSE 0 END"), OrderByRaw("lower(name)"),
        User.email_lower, User.id).limit(limit).offset(offset)
    total = await User.count().where(where)
    return [UserRecord(**row) for row in rows], total


async def devices_of(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[PushDeviceRecord]]:
    """The push devices of each of these users (most recently seen first), in one query."""
    found: dict[uuid.UUID, list[PushDeviceRecord]] = {}
    if not user_ids:
        return found
    rows = await PushDevice.select(
        PushDevice.user_id, PushDevice.id, PushDevice.platform, PushDevice.device_name,
        PushDevice.created_at, PushDevice.last_seen_at,
    ).where(PushDevice.user_id.is_in(list(user_ids))).order_by(PushDevice.last_seen_at,
                                                               ascending=False)
    for row in rows:
        found.setdefault(row.pop("user_id"), []).append(PushDeviceRecord(**row))
    return found


async def organizations_of(user_ids: Sequence[uuid.UUID]
                           ) -> dict[uuid.UUID, list[tuple[OrganizationRecord, MembershipRecord]]]:
    """Each person's organizations with their membership (any status), in the order they
    joined (API.md Profile ``organizations``); one query for all of them, none for an empty
    list."""
    found: dict[uuid.UUID, list[tuple[OrganizationRecord, MembershipRecord]]] = {}
    if not user_ids:
        return found
    ids = ", ".join("{}" for _ in user_ids)
    for row in await Membership.raw(_ORGANIZATIONS_OF.format(ids=ids), *user_ids):
        organization = {k[2:]: row.pop(k) for k in list(row) if k.startswith("o_")}
        membership = MembershipRecord(**row)
        found.setdefault(membership.user_id, []).append(
            (OrganizationRecord(**organization), membership))
    return found
