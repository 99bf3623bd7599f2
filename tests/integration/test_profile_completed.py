"""The profile, completed (issue 13): account type, display name, picture, personal profile,
organizations, teams and the active context; the same profile at /v1/auth/profile and
/v1/users/me and /{id}; PATCH me with nickname and avatarUrl; the admin list's teamId,
includeInactive and order; custom ROLES with PATCH role and the claim after refresh; and the
SQL statements a profile costs — on the real app, worker, database and Redis."""

from __future__ import annotations

import base64
import contextlib
import contextvars
import json
import uuid
from collections.abc import Iterator

import pytest

from db.engine import current
from db.repositories import memberships, users
from db.tables import AuditEvent, Membership, Team, User
from db.transaction import transaction
from domain.names import AuditAction
from domain.passwords.hashing import PasswordHasher
from domain.tokens import AccessTokenCodec
from tests.support import PASSWORD, bearer, register, serving, sign_in

ORGS = "/v1/organizations"
STATEMENTS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "statements", default=None)


@contextlib.contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL statements run by this task (the request handled in it) meanwhile; the
    in-process worker runs in its own task and is not counted."""
    engine_class = type(current())
    original = engine_class.run_querystring

    async def run(self, querystring, *args, **kwargs):
        seen = STATEMENTS.get()
        if seen is not None:
            seen.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", run)
    found: list[str] = []
    token = STATEMENTS.set(found)
    try:
        yield found
    finally:
        STATEMENTS.reset(token)
        monkeypatch.undo()


def claims(access_token: str) -> dict:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
async def person(client, settings, clock):
    """``await person(email, name=None, admin=False)`` -> (user id, token pair): a verified
    account written straight to the database, signed in."""
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()

    async def make(email: str, name: str | None = None, admin: bool = False,
                   http=None) -> tuple[uuid.UUID, dict]:
        user = await users.insert(email=email, password_hash=password_hash, name=name,
                                  now=clock(), verified=True,
                                  roles=["admin"] if admin else ["user"])
        pair = (await sign_in(http or client, email)).json()
        return user.id, pair

    return make


async def organization(client, headers, name) -> str:
    response = await client.post(ORGS, headers=headers, json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def join(clock, organization_id: str, user_id: uuid.UUID, role: str = "member") -> None:
    async with transaction():
        await memberships.add(organization_id=uuid.UUID(organization_id), user_id=user_id,
                              role=role, now=clock())


async def team(client, headers, organization_id, name, user_id=None, role="member") -> str:
    made = await client.post(f"{ORGS}/{organization_id}/teams", headers=headers,
                             json={"name": name, "description": f"{name} rota"})
    assert made.status_code == 201, made.text
    if user_id is not None:
        added = await client.post(f"{ORGS}/{organization_id}/teams/{made.json()['id']}/members",
                                  headers=headers, json={"userId": str(user_id), "role": role})
        assert added.status_code == 201, added.text
    return made.json()["id"]


async def test_a_personal_account_profile(client, person):
    ann_id, pair = await person("ann@example.com", "Ann")
    profile = (await client.get("/v1/users/me", headers=bearer(pair["accessToken"]))).json()
    assert profile["id"] == str(ann_id) and profile["accountType"] == "personal"
    assert profile["displayName"] == "Ann" and profile["imageUrl"] is None
    # every personal account has its personal profile (users.insert gives one)
    assert profile["personal"]["id"] and profile["personal"]["nickname"] is None
    assert profile["organizations"] == [] and profile["teams"] == []
    assert profile["activeContext"] is None
    assert profile["lastLoginAt"] is not None and profile["updatedAt"] is not None
    assert pair["user"]["accountType"] == "personal"  # the token pair's profile too


async def test_patch_me_nickname_and_avatar(client, person):
    ann_id, pair = await person("ann@example.com", "Ann")
    ann = bearer(pair["accessToken"])

    changed = await client.patch("/v1/users/me", headers=ann, json={
        "nickname": " Annie ", "avatarUrl": "https://cdn.example.com/ann.png"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["displayName"] == "Annie" and body["name"] == "Ann"
    assert body["imageUrl"] == "https://cdn.example.com/ann.png"
    personal = body["personal"]  # a nickname creates the personal profile
    assert personal["nickname"] == "Annie" and uuid.UUID(personal["id"])
    assert personal["avatarUrl"] == "https://cdn.example.com/ann.png"
    [event] = await AuditEvent.select().where(
        (AuditEvent.user_id == ann_id) & (AuditEvent.action == AuditAction.USER_UPDATED.value))
    assert "nickname" in str(event["metadata"]) and "avatar_url" in str(event["metadata"])

    removed = (await client.patch("/v1/users/me", headers=ann,
                                  json={"nickname": "  ", "avatarUrl": None})).json()
    assert removed["displayName"] == "Ann" and removed["imageUrl"] is None
    assert removed["personal"] == {"id": personal["id"], "nickname": None, "avatarUrl": None}
    again = (await client.patch("/v1/users/me", headers=ann, json={"nickname": "A"})).json()
    assert again["personal"]["id"] == personal["id"]  # the same personal profile

    for url in ("http://cdn.example.com/a.png", "javascript:alert(1)", "https://",
                "https://user:pw@cdn.example.com/a.png", "https://cdn.example.com/a b.png",
                "https://cdn.example.com/" + "a" * 2030, "https://[::1/a.png", "ftp://x.org/a"):
        bad = await client.patch("/v1/users/me", headers=ann, json={"avatarUrl": url})
        assert bad.status_code == 400, url
        assert bad.json()["errors"][0]["field"] == "avatarUrl", bad.text
    assert (await client.patch("/v1/users/me", headers=ann,
                               json={"nickname": "x" * 101})).status_code == 400
    assert (await users.get_by_id(ann_id)).avatar_url is None


async def test_organizations_teams_and_context_in_the_profile(client, person, clock, settings):
    ann_id, pair = await person("ann@example.com", "Ann")
    _, root_pair = await person("root@example.com", "Root", admin=True)
    _, boss_pair = await person("boss@example.com", "Boss")
    ann, root, boss = (bearer(p["accessToken"]) for p in (pair, root_pair, boss_pair))
    first = await organization(client, ann, "First")
    clock.advance(seconds=1)
    second = await organization(client, boss, "Second")
    third = await organization(client, boss, "Third")
    await join(clock, second, ann_id, "admin")
    clock.advance(seconds=1)
    await join(clock, third, ann_id)
    alpha = await team(client, ann, first, "alpha", ann_id, "lead")
    beta = await team(client, boss, second, "beta", ann_id)
    gone = await team(client, boss, second, "gone", ann_id)
    hidden = await team(client, boss, third, "hidden", ann_id)
    await team(client, boss, second, "not mine")
    await client.patch(f"{ORGS}/{second}/teams/{gone}", headers=boss, json={"isActive": False})
    # suspended in Third: its teams leave the profile (written without the route, which
    # would also have taken ann out of the team)
    await Membership.update({Membership.status: "suspended"}).where(
        (Membership.user_id == ann_id) & (Membership.organization_id == uuid.UUID(third)))

    codec = AccessTokenCodec(secret=settings.jwt_secret, issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience, ttl=900)
    session_id = uuid.UUID(claims(pair["accessToken"])["sid"])
    in_first = bearer(codec.issue(user_id=ann_id, session_id=session_id, now=clock(),
                                  roles=["user"], context=("organization", uuid.UUID(first)),
                                  org_role="owner"))
    profile = (await client.get("/v1/auth/profile", headers=in_first)).json()
    assert profile["organizations"] == [
        {"id": first, "name": "First", "role": "owner", "status": "active"},
        {"id": second, "name": "Second", "role": "admin", "status": "active"},
        {"id": third, "name": "Third", "role": "member", "status": "suspended"}]
    assert profile["teams"] == [
        {"id": alpha, "name": "alpha", "description": "alpha rota", "organizationId": first,
         "role": "lead"},
        {"id": beta, "name": "beta", "description": "beta rota", "organizationId": second,
         "role": "member"}]
    assert hidden not in str(profile) and gone not in str(profile)
    assert profile["activeContext"] == {"type": "organization", "id": first}
    for path in ("/v1/users/me", f"/v1/users/{ann_id}"):
        assert (await client.get(path, headers=in_first)).json() == profile, path

    seen_by_admin = (await client.get(f"/v1/users/{ann_id}", headers=root)).json()
    assert seen_by_admin["activeContext"] is None  # an admin sees no one's context
    assert seen_by_admin["teams"] == profile["teams"]
    assert (await client.get("/v1/users/me", headers=ann)).json()["activeContext"] is None
    in_third = bearer(codec.issue(user_id=ann_id, session_id=session_id, now=clock(),
                                  context=("organization", uuid.UUID(third))))
    assert (await client.get("/v1/users/me", headers=in_third)).json()["activeContext"] is None
    not_mine = bearer(codec.issue(user_id=ann_id, session_id=session_id, now=clock(),
                                  context=("personal", uuid.uuid4())))
    assert (await client.get("/v1/users/me", headers=not_mine)).json()["activeContext"] is None
    personal_id = (await client.patch("/v1/users/me", headers=ann, json={"nickname": "Annie"})
                   ).json()["personal"]["id"]
    as_herself = bearer(codec.issue(user_id=ann_id, session_id=session_id, now=clock(),
                                    context=("personal", uuid.UUID(personal_id))))
    assert (await client.get("/v1/auth/profile", headers=as_herself)).json()[
        "activeContext"] == {"type": "personal", "id": personal_id}
    switched = await client.post("/v1/auth/context", headers=ann,
                                 json={"contextType": "organization", "contextId": second})
    assert switched.status_code == 200, switched.text
    assert (await client.get("/v1/users/me", headers=bearer(switched.json()["accessToken"]))
            ).json()["activeContext"] == {"type": "organization", "id": second}


async def test_a_profile_costs_no_query_per_organization_or_team(client, person, clock,
                                                                 monkeypatch):
    _, lone_pair = await person("lone@example.com")
    ann_id, pair = await person("ann@example.com")
    _, root_pair = await person("root@example.com", admin=True)
    lone, ann, root = (bearer(p["accessToken"]) for p in (lone_pair, pair, root_pair))

    async def statements(path: str, headers: dict) -> list[str]:
        with counted(monkeypatch) as seen:
            response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return seen

    alone = await statements("/v1/auth/profile", lone)
    assert len(alone) == 1, alone  # the user row, as before issue 13
    assert len(await statements("/v1/users/me", lone)) == 1
    first = await organization(client, ann, "Org 0")
    await team(client, ann, first, "team 0", ann_id)
    one = await statements("/v1/auth/profile", ann)
    for n in (1, 2):
        organization_id = await organization(client, ann, f"Org {n}")
        await team(client, ann, organization_id, f"team {n}", ann_id)
    three = await statements("/v1/auth/profile", ann)
    assert len(three) == len(one) <= len(alone) + 2, three
    assert len((await client.get("/v1/auth/profile", headers=ann)).json()["teams"]) == 3

    for n in range(3):  # more members with organizations and teams: still one query each
        user_id, _ = await person(f"m{n}@example.com")
        await join(clock, first, user_id)
    listed = await statements("/v1/users", root)
    # the admin check, the page, the total, then one query for all organizations and one
    # for all teams (no one has a push device): none per account, organization or team
    assert len(listed) == 5, listed
    assert len((await client.get("/v1/users", headers=root)).json()["users"]) == 6


async def test_admin_list_team_filter_inactive_and_order(client, person, clock):
    _, root_pair = await person("root@example.com", "root", admin=True)
    root = bearer(root_pair["accessToken"])
    ids = {}
    for email, name in (("zoe@example.com", "Zoe"), ("al@example.com", "al"),
                        ("nameless@example.com", None), ("bea@example.com", "Bea"),
                        ("off@example.com", "Off")):
        ids[email.split("@")[0]], _ = await person(email, name)
    await User.update({User.is_active: False}).where(User.id == ids["off"])
    org = await organization(client, root, "Org")
    for who in ("zoe", "nameless", "off", "bea"):
        await join(clock, org, ids[who])
    oncall = await team(client, root, org, "oncall", ids["zoe"], "lead")
    for who in ("nameless", "off"):
        added = await client.post(f"{ORGS}/{org}/teams/{oncall}/members", headers=root,
                                  json={"userId": str(ids[who])})
        assert added.status_code == 201
    await team(client, root, org, "other", ids["bea"])

    async def listed(**query):
        response = await client.get("/v1/users", headers=root, params=query)
        assert response.status_code == 200, response.text
        return [u["email"].split("@")[0] for u in response.json()["users"]]

    assert await listed() == ["al", "bea", "root", "zoe", "nameless"]
    assert await listed(includeInactive="true") == ["al", "bea", "off", "root", "zoe",
                                                    "nameless"]
    assert await listed(teamId=oncall) == ["zoe", "nameless"]
    assert await listed(teamId=oncall, includeInactive="true") == ["off", "zoe", "nameless"]
    assert await listed(teamId=oncall, q="zo") == ["zoe"]
    assert await listed(teamId=str(uuid.uuid4())) == []
    zoe = next(u for u in (await client.get("/v1/users", headers=root,
                                            params={"teamId": oncall})).json()["users"]
               if u["email"] == "zoe@example.com")
    assert zoe["teams"] == [{"id": oncall, "name": "oncall", "description": "oncall rota",
                             "organizationId": org, "role": "lead"}]
    assert zoe["organizations"][0]["id"] == org and zoe["activeContext"] is None
    await Team.update({Team.is_active: False}).where(Team.id == uuid.UUID(oncall))
    assert await listed(teamId=oncall) == ["zoe", "nameless"]  # the filter names the team
    unknown = await client.get("/v1/users", headers=root, params={"role": "manager"})
    assert unknown.status_code == 400 and "admin, user" in unknown.json()["detail"]


async def test_custom_roles_with_the_claim_after_refresh(settings, clock):
    agency = settings.replace(roles="admin,manager,team_member,client", default_role="client")
    async with serving(agency, clock) as client:
        hasher = PasswordHasher(rounds=agency.bcrypt_rounds, pepper=agency.password_pepper)
        password_hash = await hasher.hash(PASSWORD)
        hasher.close()
        await users.insert(email="root@example.com", password_hash=password_hash, name="Root",
                           now=clock(), verified=True, roles=["admin"])
        root = bearer((await sign_in(client, "root@example.com")).json()["accessToken"])
        assert (await register(client, "new@example.com")).status_code == 201
        newcomer = await users.get_by_email("new@example.com")
        assert newcomer.roles == ["client"]  # DEFAULT_ROLE
        await users.update_profile(newcomer.id, now=clock(), email_verified=True)
        pair = (await sign_in(client, "new@example.com")).json()
        assert claims(pair["accessToken"])["roles"] == ["client"]

        made = await client.patch(f"/v1/users/{newcomer.id}/role", headers=root,
                                  json={"role": "manager"})
        assert made.status_code == 200 and made.json()["roles"] == ["manager"]
        refreshed = await client.post("/v1/auth/refresh",
                                      json={"refreshToken": pair["refreshToken"]})
        assert refreshed.status_code == 200, refreshed.text
        assert claims(refreshed.json()["accessToken"])["roles"] == ["manager"]
        managers = await client.get("/v1/users", headers=root, params={"role": "manager"})
        assert [u["email"] for u in managers.json()["users"]] == ["new@example.com"]

        refused = await client.patch(f"/v1/users/{newcomer.id}/role", headers=root,
                                     json={"role": "user"})
        assert refused.status_code == 400
        assert "admin, manager, team_member, client" in refused.json()["detail"]
        assert refused.json()["errors"][0]["field"] == "role"
        unknown = await client.get("/v1/users", headers=root, params={"role": "user"})
        assert unknown.status_code == 400
        alone = await client.patch(f"/v1/users/{(await users.get_by_email('root@example.com')).id}"
                                   "/role", headers=root, json={"role": "client"})
        assert alone.status_code == 409 and alone.json()["type"] == "last_admin"
