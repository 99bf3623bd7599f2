"""Deleting an account that belongs to organizations (issue 13): the last active owner of an
organization cannot delete their account (409 last_owner, nothing erased); a member's deletion
takes their memberships and team memberships with it, and the organization lists them no more."""

from __future__ import annotations

import uuid

from db.tables import Membership, Team, TeamMembership, User
from tests.integration.test_organizations import create, join
from tests.support import PASSWORD

ORGS = "/v1/organizations"


async def test_the_last_owner_keeps_the_account_and_a_members_deletion_ends_memberships(
        client, person, clock):
    ann_id, ann = await person("ann@example.com", "Ann")
    bob_id, bob = await person("bob@example.com", "Bob")
    org = await create(client, ann)
    await join(clock, org["id"], bob_id)
    team_id = uuid.uuid4()
    await Team.insert(Team(id=team_id, organization_id=uuid.UUID(org["id"]), name="Night"))
    await TeamMembership.insert(TeamMembership(id=uuid.uuid4(), team_id=team_id, user_id=bob_id))

    refused = await client.request("DELETE", "/v1/users/me", headers=ann,
                                   json={"password": PASSWORD})
    assert refused.status_code == 409 and refused.json()["type"].endswith("last_owner")
    assert await User.exists().where((User.id == ann_id) & User.deleted_at.is_null())

    gone = await client.request("DELETE", "/v1/users/me", headers=bob,
                                json={"password": PASSWORD})
    assert gone.status_code == 204
    assert not await Membership.exists().where(Membership.user_id == bob_id)
    assert not await TeamMembership.exists().where(TeamMembership.user_id == bob_id)
    members = (await client.get(f"{ORGS}/{org['id']}/members", headers=ann)).json()["items"]
    assert [m["userId"] for m in members] == [str(ann_id)]
    row = await User.select(User.organization_count).where(User.id == bob_id).first()
    assert row["organization_count"] == 0
