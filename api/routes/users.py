"""Users and administration — /v1/users (API.md). Admin routes carry the ``admin_only``
guard; "self or admin" routes ask domain.users.access through their use case."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch
from litestar.di import Provide
from litestar.params import Parameter
from msgspec import UNSET, Meta, Struct, UnsetType

from api.deps import SIGNED_IN, provide_services, request_info
from api.guards import admin_only
from api.openapi import BEARER, problems
from api.schemas import PRINTABLE, Camel, Name, Password, Profile
from domain.services import Services
from domain.tokens import AccessClaims
from domain.users import administration, deletion, profiles
from domain.users.access import ME
from domain.users.profiles import UserProfile

RoleName = Annotated[str, Meta(min_length=1, max_length=32, pattern=PRINTABLE,
                               examples=["admin"],
                               description="One of ROLES (default admin, user).")]
AvatarUrl = Annotated[str, Meta(max_length=2048, pattern=PRINTABLE,
                                examples=["https://cdn.example.com/ann.png"],
                                description="An https URL.")]
TEAM_ID = Parameter(query="teamId", default=None)
PhoneNumber = Annotated[str, Meta(max_length=32, pattern=PRINTABLE, examples=["+14155552671"],
                                  description="E.164, like +14155552671.")]


class UpdateMeRequest(Struct, rename="camel"):
    """Only the fields sent change; ``null`` removes a value."""

    name: Name | UnsetType | None = UNSET
    phone_number: PhoneNumber | UnsetType | None = UNSET
    nickname: Name | UnsetType | None = UNSET
    avatar_url: AvatarUrl | UnsetType | None = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields sent, by their snake_case names (None: remove)."""
        return {name: value for name in self.__struct_fields__
                if (value := getattr(self, name)) is not UNSET}


class RoleRequest(Camel):
    role: RoleName


class StatusRequest(Camel):
    is_active: bool


class DeleteRequest(Camel):
    password: Password | None = None  # required to delete your own account


class UserList(Struct, rename="camel"):
    users: list[Profile]
    total: int


def profile(found: UserProfile) -> Profile:
    return Profile.of_profile(found)


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]
    dependencies = {"svc": Provide(provide_services), **SIGNED_IN}

    @get("/", guards=[admin_only], security=BEARER, responses=problems(400, 401, 403))
    async def list_users(
        self, svc: Services, claims: AccessClaims,
        role: str | None = Parameter(default=None, max_length=32, pattern=PRINTABLE),
        team_id: uuid.UUID | None = TEAM_ID,
        include_inactive: bool = Parameter(query="includeInactive", default=False),
        q: str | None = Parameter(default=None, max_length=100, pattern=PRINTABLE),
        is_active: bool | None = Parameter(query="isActive", default=None),
        limit: int = Parameter(default=50, ge=1, le=100),
        offset: int = Parameter(default=0, ge=0, le=1_000_000),
    ) -> UserList:
        """Admin: accounts filtered by `role` (one of ROLES), `teamId`, `q` (part of the
        email or name, case-insensitive) and `isActive`; inactive accounts only with
        `includeInactive=true`. Ordered by name (nameless last), then email; `total` counts
        every match."""
        page = await administration.list_users(
            svc, claims, role=role, team_id=team_id, include_inactive=include_inactive,
            is_active=is_active, q=q, limit=limit, offset=offset)
        return UserList(users=[profile(p) for p in page.users], total=page.total)

    @get("/me", security=BEARER, responses=problems(401, 404))
    async def me(self, claims: AccessClaims) -> Profile:
        """The caller's own profile."""
        return profile(await profiles.view_user(claims, ME))

    @get("/{user_id:str}", security=BEARER, responses=problems(401, 404))
    async def user(self, claims: AccessClaims, user_id: str) -> Profile:
        """A profile by id (`me`: the caller's): your own, or anyone's for an admin; 404
        for anyone else's."""
        return profile(await profiles.view_user(claims, user_id))

    @patch("/me", security=BEARER, responses=problems(400, 401, 404))
    async def update_me(self, request: Request, data: UpdateMeRequest, svc: Services,
                        claims: AccessClaims) -> Profile:
        """Change your `name`, `phoneNumber` (E.164; a new number is unverified until
        verified), `nickname` (your personal profile's; one is created if you have none) and
        `avatarUrl` (https); `null` removes a value."""
        return profile(await profiles.update_me(svc, claims, data.changes(),
                                                request_info(request)))

    @patch("/{user_id:uuid}/role", guards=[admin_only], security=BEARER,
           responses=problems(400, 401, 403, 404, 409))
    async def role(self, request: Request, user_id: uuid.UUID, data: RoleRequest,
                   svc: Services, claims: AccessClaims) -> Profile:
        """Admin: give an account a global role, one of ROLES (default `admin`, `user`; 400
        names the allowed ones). 409 `last_admin` when it would leave no active admin."""
        return profile(await administration.change_role(
            svc, actor_id=claims.user_id, user_id=user_id, role=data.role,
            info=request_info(request)))

    @patch("/{user_id:uuid}/status", guards=[admin_only], security=BEARER,
           responses=problems(400, 401, 403, 404, 409))
    async def status(self, request: Request, user_id: uuid.UUID, data: StatusRequest,
                     svc: Services, claims: AccessClaims) -> Profile:
        """Admin: deactivate (`isActive: false`: every session ends at once, sign-in fails
        like a wrong password, the person is alerted) or reactivate an account. 409
        `last_admin` for the last active admin."""
        return profile(await administration.set_active(
            svc, actor_id=claims.user_id, user_id=user_id, is_active=data.is_active,
            info=request_info(request)))

    @delete("/me", status_code=204, security=BEARER,
            responses=problems(400, 401, 409, 429, 503))
    async def delete_me(self, request: Request, svc: Services, claims: AccessClaims,
                        data: DeleteRequest | None = None) -> None:
        """Delete your own account: send your current `password`. Erases the account and
        its personal data; every session ends."""
        await deletion.delete_user(svc, claims, ME, password=data.password if data else None,
                                   info=request_info(request))

    @delete("/{user_id:str}", status_code=204, security=BEARER,
            responses=problems(400, 401, 403, 404, 409, 429, 503))
    async def delete_user(self, request: Request, user_id: str, svc: Services,
                          claims: AccessClaims, data: DeleteRequest | None = None) -> None:
        """Admin: delete any account; or your own with your current `password`. Erases the
        account and its personal data (sessions, tokens, codes, devices, preferences); the
        audit trail keeps a pseudonymous id. 409 `last_admin` for the last active admin."""
        await deletion.delete_user(svc, claims, user_id,
                                   password=data.password if data else None,
                                   info=request_info(request))


CONTROLLERS: list[type[Controller]] = [UserController]
