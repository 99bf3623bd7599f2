"""Bodies of /v1/organizations/{id}/teams (API.md "Organizations and context"), camelCase on
the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from api.schemas import PRINTABLE, Camel
from domain.records import TeamMemberRecord, TeamRecord

TeamName = Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE,
                               examples=["Primary on-call"])]
Description = Annotated[str, Meta(max_length=1000, pattern=PRINTABLE,
                                  examples=["Pages for production incidents"])]
TeamRoleName = Literal["lead", "member"]


class TeamRequest(Camel):
    name: TeamName
    description: Description | None = None


class TeamUpdate(Struct, rename="camel"):
    """Only the fields sent change; ``null`` removes the description; ``isActive: false``
    deactivates the team."""

    name: TeamName | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields sent, by their snake_case names."""
        return {name: value for name in self.__struct_fields__
                if (value := getattr(self, name)) is not UNSET}


class Team(Struct, rename="camel"):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    description: str | None
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, team: TeamRecord) -> Team:
        return cls(id=team.id, organization_id=team.organization_id, name=team.name,
                   description=team.description, is_active=team.is_active,
                   created_at=team.created_at)


class TeamList(Struct, rename="camel"):
    items: list[Team]


class TeamMemberRequest(Camel):
    user_id: uuid.UUID
    role: TeamRoleName = "member"


class TeamMemberUpdate(Camel):
    role: TeamRoleName


class TeamMember(Struct, rename="camel"):
    """A person in a team; ``joinedAt``: when they joined the team."""

    user_id: uuid.UUID
    email: str
    name: str | None
    role: TeamRoleName
    joined_at: datetime

    @classmethod
    def of(cls, member: TeamMemberRecord) -> TeamMember:
        return cls(user_id=member.user_id, email=member.email, name=member.name,
                   role=member.role, joined_at=member.created_at)  # type: ignore[arg-type]


class TeamMemberList(Struct, rename="camel"):
    items: list[TeamMember]
