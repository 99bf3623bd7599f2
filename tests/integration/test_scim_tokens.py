"""An organization's SCIM tokens (issue 14): created by its owners over the API and by the
operator's ``python -m scripts.scim_token`` (a real process), shown once and kept only as a
SHA-256, used by a SCIM client, listed without the token, revoked; roles, the limit of ten,
bad input, the audit trail."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import uuid

from db.repositories import memberships
from db.tables import AuditEvent, ScimToken
from db.transaction import transaction
from tests.integration.test_create_admin import ROOT, environment

ORGS = "/v1/organizations"
SCIM = "/scim/v2/Users"


async def organization(client, headers, name="Acme") -> str:
    answer = await client.post(ORGS, headers=headers, json={"name": name})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def join(clock, organization_id: str, user_id: uuid.UUID, role: str) -> None:
    async with transaction():
        await memberships.add(organization_id=uuid.UUID(organization_id), user_id=user_id,
                              role=role, now=clock())


def scim(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select(AuditEvent.user_id, AuditEvent.actor_id,
                                   AuditEvent.organization_id, AuditEvent.metadata,
                                   AuditEvent.user_agent).where(
        AuditEvent.action == action).order_by(AuditEvent.created_at)
    for row in rows:
        if isinstance(row["metadata"], str):
            row["metadata"] = json.loads(row["metadata"])
    return rows


async def test_an_owner_creates_uses_lists_and_revokes_a_token(client, person, clock):
    owner_id, owner = await person("owner@example.com")
    org = await organization(client, owner)
    tokens = f"{ORGS}/{org}/scim-tokens"

    made = await client.post(tokens, headers=owner, json={"description": "  Okta  "})
    assert made.status_code == 201, made.text
    new = made.json()
    assert set(new) == {"id", "token", "description", "createdAt"}
    assert new["description"] == "Okta" and new["token"].startswith("scim_")
    assert len(new["token"]) == len("scim_") + 43
    row = await ScimToken.select(ScimToken.token_hash).where(
        ScimToken.id == uuid.UUID(new["id"])).first()
    assert row["token_hash"] == hashlib.sha256(new["token"].encode()).hexdigest()

    clock.advance(seconds=1)
    assert (await client.get(SCIM, headers=scim(new["token"]))).status_code == 200
    other = (await client.post(tokens, headers=owner)).json()  # no body: no description
    listed = (await client.get(tokens, headers=owner)).json()
    assert new["token"] not in json.dumps(listed) and "token" not in listed["items"][0]
    assert [t["id"] for t in listed["items"]] == [other["id"], new["id"]]  # newest first
    first = listed["items"][1]
    assert first == {"id": new["id"], "description": "Okta", "createdAt": new["createdAt"],
                     "lastUsedAt": first["lastUsedAt"], "createdBy": str(owner_id)}
    assert first["lastUsedAt"] is not None and listed["items"][0]["lastUsedAt"] is None
    assert listed["items"][0]["description"] is None

    assert (await client.delete(f"{tokens}/{new['id']}", headers=owner)).status_code == 204
    assert [t["id"] for t in (await client.get(tokens, headers=owner)).json()["items"]] \
        == [other["id"]]
    refused = await client.get(SCIM, headers=scim(new["token"]))
    assert refused.status_code == 401
    assert (await client.get(SCIM, headers=scim(other["token"]))).status_code == 200
    for token_id in (new["id"], str(uuid.uuid4()), "not-a-uuid"):
        gone = await client.delete(f"{tokens}/{token_id}", headers=owner)
        assert gone.status_code == 404 and gone.json()["type"] == "not_found", token_id

    created = await events("organization.scim_token.created")
    revoked, = await events("organization.scim_token.revoked")
    assert [e["metadata"]["token_id"] for e in created] == [new["id"], other["id"]]
    assert revoked["metadata"]["token_id"] == new["id"]
    for event in (*created, revoked):
        assert event["actor_id"] == owner_id and event["organization_id"] == uuid.UUID(org)
        assert new["token"] not in json.dumps(event["metadata"])
        assert other["token"] not in json.dumps(event["metadata"])


async def test_a_token_reaches_only_its_own_organization(client, person):
    _, ann = await person("ann@example.com")
    _, bob = await person("bob@example.com")
    acme, globex = await organization(client, ann), await organization(client, bob, "Globex")
    token = (await client.post(f"{ORGS}/{acme}/scim-tokens", headers=ann)).json()
    globex_token = (await client.post(f"{ORGS}/{globex}/scim-tokens", headers=bob)).json()
    # another organization's owner cannot revoke it, nor see it
    assert (await client.delete(f"{ORGS}/{globex}/scim-tokens/{token['id']}",
                                headers=bob)).status_code == 404
    assert (await client.get(f"{ORGS}/{acme}/scim-tokens", headers=bob)).status_code == 404
    assert [t["id"] for t in (await client.get(f"{ORGS}/{globex}/scim-tokens",
                                               headers=bob)).json()["items"]] \
        == [globex_token["id"]]
    assert (await client.get(SCIM, headers=scim(token["token"]))).status_code == 200


async def test_only_owners_manage_tokens(client, person, clock):
    _, owner = await person("owner@example.com")
    admin_id, admin = await person("ada@example.com")
    member_id, member = await person("mia@example.com")
    _, outsider = await person("otto@example.com")
    org = await organization(client, owner)
    await join(clock, org, admin_id, "admin")
    await join(clock, org, member_id, "member")
    tokens = f"{ORGS}/{org}/scim-tokens"
    token_id = (await client.post(tokens, headers=owner)).json()["id"]

    for headers, status in ((admin, 403), (member, 403), (outsider, 404)):
        answers = [await client.post(tokens, headers=headers),
                   await client.get(tokens, headers=headers),
                   await client.delete(f"{tokens}/{token_id}", headers=headers)]
        assert [a.status_code for a in answers] == [status] * 3, [a.text for a in answers]
    assert (await client.get(tokens)).status_code == 401
    assert (await client.get(f"{ORGS}/{uuid.uuid4()}/scim-tokens",
                             headers=owner)).status_code == 404
    assert await ScimToken.count() == 1


async def test_bad_input_and_the_limit_of_ten_live_tokens(client, person):
    _, owner = await person("owner@example.com")
    tokens = f"{ORGS}/{await organization(client, owner)}/scim-tokens"
    for description in ("d" * 201, "line\nbreak", 5, ["x"]):
        answer = await client.post(tokens, headers=owner, json={"description": description})
        assert answer.status_code == 400, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["description"]
    assert (await client.post(tokens, content=b"{nope", headers={
        **owner, "content-type": "application/json"})).status_code == 400
    assert await ScimToken.count() == 0
    assert (await client.post(tokens, headers=owner,
                              json={"description": "d" * 200})).status_code == 201

    made = await asyncio.gather(*[client.post(tokens, headers=owner) for _ in range(12)])
    assert sorted(a.status_code for a in made) == [201] * 9 + [409] * 3
    refused = next(a for a in made if a.status_code == 409).json()
    assert refused["type"] == "too_many_scim_tokens"
    assert len((await client.get(tokens, headers=owner)).json()["items"]) == 10
    first = (await client.get(tokens, headers=owner)).json()["items"][0]["id"]
    assert (await client.delete(f"{tokens}/{first}", headers=owner)).status_code == 204
    assert (await client.post(tokens, headers=owner)).status_code == 201


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m scripts.scim_token ...`` as an operator runs it (no terminal)."""
    return subprocess.run([sys.executable, "-m", "scripts.scim_token", *args], cwd=ROOT,
                          env=environment(), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)


async def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, *args)


async def test_the_operator_command_creates_lists_and_revokes(client, person):
    _, owner = await person("owner@example.com")
    org = await organization(client, owner)

    made = await run_cli("create", "--organization", org, "--description", "Entra ID")
    assert made.returncode == 0, made.stderr
    lines = dict(line.split(": ", 1) for line in made.stdout.splitlines()[:2])
    token_id, token = lines["id"], lines["token"]
    assert token.startswith("scim_") and "not shown again" in made.stdout
    assert (await client.get(SCIM, headers=scim(token))).status_code == 200
    listed, = (await client.get(f"{ORGS}/{org}/scim-tokens", headers=owner)).json()["items"]
    assert listed["id"] == token_id and listed["createdBy"] is None
    assert listed["description"] == "Entra ID"

    shown = await run_cli("list", "--organization", org)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(token_id) and "Entra ID" in shown.stdout
    assert token not in shown.stdout and "last used 20" in shown.stdout

    gone = await run_cli("revoke", "--organization", org, token_id)
    assert gone.returncode == 0 and gone.stdout.strip() == f"revoked {token_id}"
    assert (await client.get(SCIM, headers=scim(token))).status_code == 401
    assert (await run_cli("list", "--organization", org)).stdout.strip() == "no SCIM tokens"
    again = await run_cli("revoke", "--organization", org, token_id)
    assert again.returncode == 1 and again.stderr.strip() \
        == "latchkey scim_token: No such SCIM token."

    for event in (*await events("organization.scim_token.created"),
                  *await events("organization.scim_token.revoked")):
        assert event["actor_id"] is None and event["user_id"] is None
        assert event["organization_id"] == uuid.UUID(org)
        assert event["user_agent"] == "python -m scripts.scim_token"
        assert token not in json.dumps(event["metadata"])


async def test_the_operator_command_refuses_an_unknown_organization(client):
    for organization_id in (str(uuid.uuid4()), "acme"):
        for args in (("create",), ("list",), ("revoke", str(uuid.uuid4()))):
            done = await run_cli(args[0], "--organization", organization_id, *args[1:])
            assert done.returncode == 1, done
            assert done.stderr.strip() == "latchkey scim_token: No such organization.", \
                done.stderr
            assert done.stdout == ""
    usage = await run_cli("create")
    assert usage.returncode == 2 and "--organization" in usage.stderr
    assert await ScimToken.count() == 0
