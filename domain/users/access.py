"""Who may administer accounts: the one place role checks live (the admin guard of
api/guards.py and the "self or admin" use cases both ask here)."""

from __future__ import annotations

import uuid

from db.repositories import users
from domain.errors import Forbidden, NotFound
from domain.names import Role
from domain.records import UserRecord
from domain.tokens import AccessClaims

ME = "me"  # the path alias of the caller's own id (API.md GET /v1/users/{id})


def is_admin(user: UserRecord | None) -> bool:
    """True for a live, active account holding the ``admin`` role."""
    return user is not None and user.is_active and Role.ADMIN.value in user.roles


async def require_admin(user_id: uuid.UUID) -> UserRecord:
    """The caller's account read fresh from the database (a role taken away or an account
    deactivated counts at once, not when the access token expires).
    raises Forbidden (403) unless it is an active admin."""
    user = await users.get_by_id(user_id)
    if not is_admin(user):
        raise Forbidden("This needs the admin role.")
    return user  # type: ignore[return-value]  # is_admin checked it is not None


def target_of(claims: AccessClaims, ref: str) -> uuid.UUID:
    """The user id a path names: ``me`` or a UUID. raises NotFound for anything else (an
    id that cannot exist is as unknown as one that does not)."""
    if ref == ME:
        return claims.user_id
    try:
        return uuid.UUID(ref)
    except ValueError:
        raise NotFound("No such user.") from None


async def require_self_or_admin(claims: AccessClaims, user_id: uuid.UUID) -> None:
    """Pass when the caller is ``user_id`` or an active admin. raises NotFound otherwise,
    not Forbidden: whether another account exists is not a non-admin's business."""
    if user_id != claims.user_id and not is_admin(await users.get_by_id(claims.user_id)):
        raise NotFound("No such user.")
