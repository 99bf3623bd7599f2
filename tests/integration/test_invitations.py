"""Invitations to organizations (issue 13): the round trip from the emailed link, for an
address that had no account yet; wrong email and unverified email refused; single use, also
under parallel accepts; expiry on the injected clock; revocation before accepting and before
the worker sent the email; replacing a pending invitation; the hourly and pending limits;
who may invite; only the token's hash stored — on the real app, worker, database and Redis."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import datetime, timedelta

from db.repositories import memberships, outbox, users
from db.tables import AuditEvent, Invitation, Membership, OutboxMessage, User
from db.transaction import transaction
from domain.messages import kinds
from domain.names import AuditAction
from domain.passwords.hashing import PasswordHasher
from tests.support import (
    PASSWORD,
    bearer,
    register,
    running_worker,
    serving,
    sign_in,
    token_of,
    wait_mail,
)

ORGS = "/v1/organizations"
ACCEPT = "/v1/invitations/accept"
SUBJECT = kinds.INVITATION.subject


async def organization(client, headers, name: str = "Acme Events") -> str:
    response = await client.post(ORGS, headers=headers, json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def invite(client, headers, org: str, email: str, role: str = "member",
                 status: int = 201) -> dict:
    response = await client.post(f"{ORGS}/{org}/invitations", headers=headers,
                                 json={"email": email, "role": role})
    assert response.status_code == status, response.text
    return response.json()


async def emailed_token(mailbox, email: str, count: int = 1) -> str:
    """The token of the ``count``-th invitation email to ``email``."""
    mails = await wait_mail(mailbox, email, count, subject=SUBJECT)
    return token_of(mails[count - 1].links[0])


async def accept(client, headers, token: str):
    return await client.post(ACCEPT, headers=headers, json={"token": token})


async def actions(org: str) -> list[tuple[str, uuid.UUID | None, uuid.UUID | None]]:
    rows = await AuditEvent.select(AuditEvent.action, AuditEvent.user_id,
                                   AuditEvent.actor_id).where(
        AuditEvent.organization_id == uuid.UUID(org)).order_by(AuditEvent.created_at)
    return [(row["action"], row["user_id"], row["actor_id"]) for row in rows]


async def test_round_trip_from_the_emailed_link(client, person, mailbox, clock, settings):
    ann_id, ann = await person("ann@example.com", "Ann")
    org = await organization(client, ann)

    made = await invite(client, ann, org, "Bob@Example.com", "admin")
    assert set(made) == {"id", "email", "role", "expiresAt"}
    assert made["email"] == "Bob@example.com" and made["role"] == "admin"
    expires = datetime.fromisoformat(made["expiresAt"])
    assert abs(expires - clock() - timedelta(seconds=settings.invitation_ttl)) < timedelta(1)
    mail = (await wait_mail(mailbox, "bob@example.com", subject=SUBJECT))[0]
    assert "Ann invited you to join Acme Events" in mail.text and "as admin" in mail.text
    assert mail.links[0].startswith("https://app.example.test/invitations/accept?token=")
    token = token_of(mail.links[0])
    listed = (await client.get(f"{ORGS}/{org}/invitations", headers=ann)).json()["items"]
    assert [(i["id"], i["invitedBy"]) for i in listed] == [(made["id"], str(ann_id))]

    # only the token's SHA-256 is stored, nowhere the token itself
    row = await Invitation.select().where(Invitation.id == uuid.UUID(made["id"])).first()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row) and token not in str(await OutboxMessage.select())

    # Bob had no account: he registers, verifies and signs in, then follows the link
    assert (await register(client, "bob@example.com")).status_code == 201
    verify = (await wait_mail(mailbox, "bob@example.com", subject="Verify your email address"))
    assert (await client.post("/v1/auth/verify-email",
                              json={"token": token_of(verify[0].links[0])})).status_code == 200
    bob = bearer((await sign_in(client, "bob@example.com")).json()["accessToken"])
    accepted = await accept(client, bob, token)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "admin"
    assert accepted.json()["organization"]["id"] == org
    assert accepted.json()["organization"]["name"] == "Acme Events"
    mine = (await client.get(ORGS, headers=bob)).json()["items"]
    assert [(o["id"], o["role"], o["status"]) for o in mine] == [(org, "admin", "active")]
    assert (await client.get(f"{ORGS}/{org}/invitations", headers=ann)).json() == {"items": []}

    # single use
    reused = await accept(client, bob, token)
    assert reused.status_code == 400 and reused.json()["type"] == "invalid_token"
    bob_id = (await users.get_by_email("bob@example.com")).id
    assert (await users.get_by_id(bob_id)).organization_count == 1
    assert (await actions(org))[-3:] == [
        (AuditAction.INVITATION_SENT.value, None, ann_id),
        (AuditAction.MEMBER_ADDED.value, bob_id, bob_id),
        (AuditAction.INVITATION_ACCEPTED.value, bob_id, bob_id)]


async def test_wrong_email_and_unverified_email_are_refused(client, person, mailbox):
    _, ann = await person("ann@example.com")
    _, eve = await person("eve@example.com")
    carl_id, carl = await person("carl@example.com")
    org = await organization(client, ann)
    await invite(client, ann, org, "carl@example.com")
    token = await emailed_token(mailbox, "carl@example.com")

    wrong = await accept(client, eve, token)
    assert wrong.status_code == 403 and wrong.json()["type"] == "authorization_denied"
    await User.update({User.email_verified_at: None}).where(User.id == carl_id)
    unverified = await accept(client, carl, token)
    assert unverified.status_code == 403 and unverified.json()["type"] == "email_not_verified"
    assert await Membership.count() == 1  # Ann only
    # neither used the invitation up: Carl verifies and it works
    await User.update({User.email_verified_at: User.created_at}).where(User.id == carl_id)
    assert (await accept(client, carl, token)).status_code == 200


async def test_an_invitation_expires(client, person, mailbox, clock, settings):
    _, ann = await person("ann@example.com")
    _, bob = await person("bob@example.com")
    org = await organization(client, ann)
    await invite(client, ann, org, "bob@example.com")
    token = await emailed_token(mailbox, "bob@example.com")

    clock.advance(seconds=settings.invitation_ttl + 1)
    ann, bob = [bearer((await sign_in(client, f"{who}@example.com")).json()["accessToken"])
                for who in ("ann", "bob")]  # a week on: the access tokens expired too
    expired = await accept(client, bob, token)
    assert expired.status_code == 400 and expired.json()["type"] == "token_expired"
    assert (await client.get(f"{ORGS}/{org}/invitations", headers=ann)).json() == {"items": []}
    assert (await client.get(ORGS, headers=bob)).json() == {"items": []}
    # an expired invitation neither counts as pending nor blocks a new one
    await invite(client, ann, org, "bob@example.com")
    assert (await accept(client, bob, await emailed_token(mailbox, "bob@example.com", 2))
            ).status_code == 200


async def test_revoked_before_accepting(client, person, mailbox):
    ann_id, ann = await person("ann@example.com")
    _, bob = await person("bob@example.com")
    org = await organization(client, ann)
    made = await invite(client, ann, org, "bob@example.com")
    token = await emailed_token(mailbox, "bob@example.com")

    one = f"{ORGS}/{org}/invitations/{made['id']}"
    assert (await client.delete(one, headers=ann)).status_code == 204
    refused = await accept(client, bob, token)
    assert refused.status_code == 400 and refused.json()["type"] == "invalid_token"
    for again in (one, f"{ORGS}/{org}/invitations/{uuid.uuid4()}",
                  f"{ORGS}/{org}/invitations/not-an-id"):
        assert (await client.delete(again, headers=ann)).status_code == 404
    assert (await actions(org))[-1] == (AuditAction.INVITATION_REVOKED.value, None, ann_id)


async def test_revoked_before_the_worker_sent_it(settings, clock, mailbox):
    async with serving(settings, clock, worker=False) as client:
        await users.insert(email="ann@example.com", password_hash=await _hash(settings),
                           name="Ann", now=clock(), verified=True)
        ann = bearer((await sign_in(client, "ann@example.com")).json()["accessToken"])
        org = await organization(client, ann)
        made = await invite(client, ann, org, "bob@example.com")
        assert (await client.delete(f"{ORGS}/{org}/invitations/{made['id']}",
                                    headers=ann)).status_code == 204
        row = await OutboxMessage.select(OutboxMessage.id).where(
            OutboxMessage.recipient == "bob@example.com").first()
        async with running_worker(settings, clock):
            for _ in range(500):
                if (status := await outbox.status_of(row["id"]))["status"] == "failed":
                    break
                await asyncio.sleep(0.01)
        assert status["status"] == "failed" and "revoked" in status["last_error"]
        assert mailbox.to("bob@example.com") == []
        stored = await Invitation.select(Invitation.token_hash).first()
        assert stored["token_hash"] is None  # no token was ever minted


async def _hash(settings) -> str:
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    try:
        return await hasher.hash(PASSWORD)
    finally:
        hasher.close()


async def test_inviting_again_replaces_the_pending_invitation(client, person, mailbox):
    _, ann = await person("ann@example.com")
    _, bob = await person("bob@example.com")
    org = await organization(client, ann)
    first = await invite(client, ann, org, "bob@example.com")
    old = await emailed_token(mailbox, "bob@example.com")
    second = await invite(client, ann, org, "BOB@example.com", "admin")
    new = await emailed_token(mailbox, "bob@example.com", 2)

    listed = (await client.get(f"{ORGS}/{org}/invitations", headers=ann)).json()["items"]
    assert [(i["id"], i["role"]) for i in listed] == [(second["id"], "admin")]
    assert second["id"] != first["id"]
    assert (await accept(client, bob, old)).json()["type"] == "invalid_token"
    assert (await accept(client, bob, new)).json()["role"] == "admin"
    replaced = await AuditEvent.select(AuditEvent.metadata).where(
        AuditEvent.action == AuditAction.INVITATION_REVOKED.value)
    assert [json.loads(r["metadata"])["reason"] for r in replaced] == ["replaced"]
    # a member cannot be invited, whatever the case of the address
    for member in ("bob@example.com", "ANN@example.com"):
        refused = await invite(client, ann, org, member, status=409)
        assert refused["type"] == "already_member"


async def test_limits_per_organization(settings, clock, mailbox):
    limited = settings.replace(rate_limit_invitation_per_organization="3/hour",
                               max_pending_invitations=2)
    async with serving(limited, clock) as client:
        await users.insert(email="ann@example.com", password_hash=await _hash(settings),
                           name="Ann", now=clock(), verified=True)
        ann = bearer((await sign_in(client, "ann@example.com")).json()["accessToken"])
        org, other = await organization(client, ann), await organization(client, ann, "Two")
        await invite(client, ann, org, "a@example.com")
        await invite(client, ann, org, "b@example.com")
        full = await invite(client, ann, org, "c@example.com", status=409)
        assert full["type"] == "too_many_pending_invitations"
        limited_answer = await client.post(f"{ORGS}/{org}/invitations", headers=ann,
                                           json={"email": "d@example.com", "role": "member"})
        assert limited_answer.status_code == 429 and "retry-after" in limited_answer.headers
        assert limited_answer.json()["type"] == "rate_limited"
        # per organization: another one still invites
        await invite(client, ann, other, "c@example.com")
    assert await Invitation.count() == 3


async def test_who_may_invite(client, person, clock):
    _, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    cat_id, cat = await person("cat@example.com")
    _, eve = await person("eve@example.com")
    org = await organization(client, ann)
    async with transaction():
        await memberships.add(organization_id=uuid.UUID(org), user_id=bob_id, role="member",
                              now=clock())
        await memberships.add(organization_id=uuid.UUID(org), user_id=cat_id, role="admin",
                              now=clock())
    made = await invite(client, ann, org, "x@example.com")
    one = f"{ORGS}/{org}/invitations/{made['id']}"

    body = {"email": "y@example.com", "role": "member"}
    for who, status in ((bob, 403), (eve, 404)):
        answers = [await client.post(f"{ORGS}/{org}/invitations", headers=who, json=body),
                   await client.get(f"{ORGS}/{org}/invitations", headers=who),
                   await client.delete(one, headers=who)]
        assert {a.status_code for a in answers} == {status}, [a.text for a in answers]
    for path in (f"{ORGS}/{uuid.uuid4()}/invitations", f"{ORGS}/not-an-id/invitations"):
        assert (await client.post(path, headers=ann, json=body)).status_code == 404
    # an admin invites members and admins, not owners; an owner invites owners
    assert (await invite(client, cat, org, "y@example.com", "owner", 403))["type"] == "forbidden"
    await invite(client, cat, org, "y@example.com", "admin")
    await invite(client, ann, org, "z@example.com", "owner")
    # bad input: 400 naming the allowed roles, an invalid address, no token
    bad_role = await client.post(f"{ORGS}/{org}/invitations", headers=ann,
                                 json={"email": "w@example.com", "role": "boss"})
    assert bad_role.status_code == 400 and "admin, member, owner" in bad_role.text
    assert (await invite(client, ann, org, "not an address", status=400))["type"] == \
        "validation_failed"
    assert (await client.post(ACCEPT, headers=ann, json={})).status_code == 400
    assert (await client.post(ACCEPT, json={"token": "abc"})).status_code == 401
    assert (await accept(client, ann, "unknown-token")).json()["type"] == "invalid_token"


async def test_parallel_accepts_one_wins(client, person, mailbox):
    _, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    org = await organization(client, ann)
    await invite(client, ann, org, "bob@example.com")
    token = await emailed_token(mailbox, "bob@example.com")

    answers = await asyncio.gather(*(accept(client, bob, token) for _ in range(10)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 9
    assert await Membership.count().where(Membership.user_id == bob_id) == 1
    assert (await users.get_by_id(bob_id)).organization_count == 1
    accepted = await AuditEvent.count().where(
        AuditEvent.action == AuditAction.INVITATION_ACCEPTED.value)
    assert accepted == 1


async def test_accepting_as_a_member_already(client, person, mailbox, clock):
    _, ann = await person("ann@example.com")
    bob_id, bob = await person("bob@example.com")
    org = await organization(client, ann)
    await invite(client, ann, org, "bob@example.com", "admin")
    token = await emailed_token(mailbox, "bob@example.com")
    async with transaction():  # joined another way meanwhile
        await memberships.add(organization_id=uuid.UUID(org), user_id=bob_id, role="member",
                              now=clock())

    answer = await accept(client, bob, token)
    assert answer.status_code == 200 and answer.json()["role"] == "member"  # unchanged
    assert (await users.get_by_id(bob_id)).organization_count == 1
    assert (await accept(client, bob, token)).json()["type"] == "invalid_token"
