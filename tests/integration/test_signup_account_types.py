"""Account types at sign-up (issue 13): personal (default) and organization accounts, the quick
personal sign-up, the welcome email's dashboard link, DEFAULT_ROLE, the default notification
preference of every new account (and of the accounts migration m0006 found)."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from typing import Any

import pytest

from db.engine import current
from db.repositories import memberships
from db.tables import (
    AuditEvent,
    Membership,
    NotificationPreference,
    Organization,
    OutboxMessage,
    User,
)
from scripts.bootstrap import bootstrap
from tests.support import PASSWORD, bearer, register, serving, sign_in, token_of, wait_mail

ORG = {"name": "Acme Events", "legalBusinessName": "Acme Events GmbH",
       "timezone": "Europe/Berlin"}
VERIFY = "Verify your email address"
WELCOME = "Welcome to latchkey"


def claims_of(access_token: str) -> dict[str, Any]:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def user_row(email: str) -> dict[str, Any] | None:
    return await User.select(User.id, User.account_type, User.nickname, User.roles,
                             User.personal_profile_id, User.organization_count).where(
        User.email_lower == email.lower()).first()


async def verify(client, mailbox, email: str) -> None:
    mail = (await wait_mail(mailbox, email, subject=VERIFY))[-1]
    response = await client.post("/v1/auth/verify-email",
                                 json={"token": token_of(mail.links[0])})
    assert response.status_code == 200, response.text


async def preferences_of(user_id: uuid.UUID) -> list[tuple[str, bool, int]]:
    rows = await NotificationPreference.select(
        NotificationPreference.channel, NotificationPreference.enabled,
        NotificationPreference.priority).where(NotificationPreference.user_id == user_id)
    return [(r["channel"], bool(r["enabled"]), r["priority"]) for r in rows]


# --- organization and personal accounts -----------------------------------------------------

async def test_an_organization_sign_up_makes_the_account_its_owner(client, mailbox):
    response = await register(client, "Owner@Example.com", name="Olga",
                              accountType="organization", organization=ORG)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"id": body["id"], "email": "Owner@example.com", "name": "Olga",
                    "accountType": "organization", "message": body["message"]}
    user = await user_row("owner@example.com")
    assert user["account_type"] == "organization" and user["personal_profile_id"] is None
    assert user["organization_count"] == 1 and user["roles"] == ["user"]
    organization = await Organization.select().first()
    assert (organization["name"], organization["legal_business_name"],
            organization["timezone"], organization["contact_email"]) == (
        "Acme Events", "Acme Events GmbH", "Europe/Berlin", "Owner@example.com")
    member = await memberships.get(organization_id=organization["id"], user_id=user["id"])
    assert member is not None and (member.role, member.status) == ("owner", "active")
    assert await preferences_of(user["id"]) == [("email", True, 1)]
    await wait_mail(mailbox, "owner@example.com", subject=VERIFY)  # verified like any account


async def test_a_personal_sign_up_has_a_personal_profile_and_its_nickname(client, mailbox):
    response = await register(client, "pat@example.com", personal={"nickname": " Patty "})
    assert response.status_code == 201, response.text
    assert response.json()["accountType"] == "personal"
    user = await user_row("pat@example.com")
    assert (user["account_type"], user["nickname"]) == ("personal", "Patty")
    assert user["personal_profile_id"] is not None and user["organization_count"] == 0
    assert await Organization.count() == 0
    plain = await register(client, "plain@example.com")  # no accountType: personal
    assert plain.status_code == 201 and plain.json()["accountType"] == "personal"


async def test_the_organization_sign_up_is_atomic(client, mailbox, monkeypatch):
    """A failure after the account, the organization and the membership were written (here:
    right after the owner's membership) leaves none of them, nor any outbox row or audit
    event: one transaction."""
    real_add = memberships.add
    written: list[int] = []

    async def add_then_fail(**fields: Any) -> Any:
        await real_add(**fields)
        written.append(await Membership.count())  # seen inside the transaction
        raise RuntimeError("the database went away mid-sign-up")

    monkeypatch.setattr(memberships, "add", add_then_fail)
    response = await register(client, "atomic@example.com", accountType="organization",
                              organization=ORG)
    assert response.status_code == 500
    assert "went away" not in response.text  # nothing internal leaks
    assert written == [1]
    for table in (User, Organization, Membership, NotificationPreference, OutboxMessage,
                  AuditEvent):
        assert await table.count() == 0, table
    monkeypatch.undo()
    again = await register(client, "atomic@example.com", accountType="organization",
                           organization=ORG)
    assert again.status_code == 201, again.text  # the address was never taken


async def test_an_organization_sign_up_for_a_taken_address_is_the_usual_409(client, mailbox):
    assert (await register(client, "taken@example.com")).status_code == 201
    response = await register(client, "TAKEN@example.com", accountType="organization",
                              organization=ORG)
    assert response.status_code == 409 and response.json()["type"] == "email_taken"
    assert await Organization.count() == 0


# --- the quick personal sign-up -------------------------------------------------------------

async def test_the_quick_personal_sign_up(client, mailbox):
    response = await client.post("/v1/auth/register/personal", json={
        "email": "quick@example.com", "password": PASSWORD, "nickname": "Quinn"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"id": body["id"], "email": "quick@example.com", "nickname": "Quinn",
                    "message": "Check your inbox to verify your email address."}
    user = await user_row("quick@example.com")
    assert str(user["id"]) == body["id"] and user["personal_profile_id"] is not None
    assert (user["account_type"], user["nickname"]) == ("personal", "Quinn")
    await verify(client, mailbox, "quick@example.com")
    assert (await sign_in(client, "quick@example.com")).status_code == 200
    taken = await client.post("/v1/auth/register/personal", json={
        "email": "Quick@example.com", "password": PASSWORD, "nickname": "Q"})
    assert taken.status_code == 409 and taken.json()["type"] == "email_taken"


async def test_both_sign_ups_share_the_register_rate_limit(settings, clock, mailbox):
    strict = dataclasses.replace(settings, rate_limit_register="2/minute")
    async with serving(strict, clock) as client:
        assert (await register(client, "one@example.com")).status_code == 201
        assert (await client.post("/v1/auth/register/personal", json={
            "email": "two@example.com", "password": PASSWORD, "nickname": "Two"})
        ).status_code == 201
        limited = await client.post("/v1/auth/register/personal", json={
            "email": "three@example.com", "password": PASSWORD, "nickname": "Three"})
        assert limited.status_code == 429 and "retry-after" in limited.headers
        assert (await register(client, "four@example.com")).status_code == 429


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("extra", "field"), [
    ({"accountType": "organization"}, "organization"),
    ({"accountType": "organization", "organization": {**ORG, "timezone": "Mars/Olympus"}},
     "organization.timezone"),
    ({"accountType": "organization", "organization": {**ORG, "name": "   "}},
     "organization.name"),
    ({"accountType": "organization", "organization": {**ORG, "contactEmail": "not mail"}},
     "organization.contactEmail"),
    ({"organization": ORG}, "organization"),  # personal (the default) with an organization
    ({"accountType": "organization", "organization": ORG, "personal": {"nickname": "x"}},
     "personal"),
    ({"personal": {"nickname": "  "}}, "personal.nickname"),
])
async def test_bad_account_choices_are_400_naming_the_field(client, mailbox, extra, field):
    """Checked before the address is looked up: a taken address gets the same 400."""
    assert (await register(client, "taken@example.com")).status_code == 201
    for email in ("new@example.com", "taken@example.com"):
        response = await register(client, email, **extra)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert await User.count() == 1 and await Organization.count() == 0


@pytest.mark.parametrize("body", [
    {"accountType": "business"},
    {"accountType": "organization", "organization": {"timezone": "UTC"}},  # no name
    {"accountType": "organization", "organization": {"name": ""}},
    {"accountType": "organization", "organization": "Acme"},
])
async def test_malformed_account_bodies_are_400(client, body):
    response = await register(client, "shape@example.com", **body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await User.count() == 0


async def test_an_unknown_account_type_names_the_allowed_values(client):
    response = await register(client, "kind@example.com", accountType="business")
    assert response.status_code == 400
    error = next(e for e in response.json()["errors"] if e["field"] == "accountType")
    assert "personal" in error["message"] and "organization" in error["message"]


async def test_a_quick_sign_up_needs_a_nickname(client):
    for nickname in (None, "", "   "):
        body = {"email": "nick@example.com", "password": PASSWORD, "nickname": nickname}
        if nickname is None:
            del body["nickname"]
        response = await client.post("/v1/auth/register/personal", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "nickname"


# --- the welcome email, roles, preferences --------------------------------------------------

async def test_the_welcome_link_follows_the_account_type(settings, clock, mailbox):
    configured = dataclasses.replace(settings,
                                     app_url_organization="https://business.example.test")
    async with serving(configured, clock) as client:
        assert (await register(client, "biz@example.com", accountType="organization",
                               organization=ORG)).status_code == 201
        assert (await register(client, "me@example.com")).status_code == 201
        for email in ("biz@example.com", "me@example.com"):
            await verify(client, mailbox, email)
        business = (await wait_mail(mailbox, "biz@example.com", subject=WELCOME))[0]
        personal = (await wait_mail(mailbox, "me@example.com", subject=WELCOME))[0]
    assert business.links == ["https://business.example.test"]
    assert personal.links == ["https://app.example.test"]
    html = business.message.get_body(preferencelist=("html",)).get_content()
    assert 'href="https://business.example.test"' in html


async def test_without_an_organization_url_organizations_get_the_app_url(client, mailbox):
    assert (await register(client, "solo@example.com", accountType="organization",
                           organization={"name": "Solo"})).status_code == 201
    await verify(client, mailbox, "solo@example.com")
    welcome = (await wait_mail(mailbox, "solo@example.com", subject=WELCOME))[0]
    assert welcome.links == ["https://app.example.test"]
    organization = await Organization.select().first()
    assert (organization["timezone"], organization["contact_email"]) == (
        "UTC", "solo@example.com")


async def test_new_accounts_get_the_default_role_in_their_access_token(settings, clock,
                                                                       mailbox):
    agency = dataclasses.replace(settings, roles="admin,manager,team_member,client",
                                 default_role="client")
    async with serving(agency, clock) as client:
        assert (await register(client, "client@example.com")).status_code == 201
        await verify(client, mailbox, "client@example.com")
        signed_in = await sign_in(client, "client@example.com")
    assert signed_in.status_code == 200, signed_in.text
    assert claims_of(signed_in.json()["accessToken"])["roles"] == ["client"]
    assert (await user_row("client@example.com"))["roles"] == ["client"]


async def test_a_new_account_starts_with_the_email_preference(client, mailbox):
    assert (await register(client, "prefs@example.com")).status_code == 201
    user = await user_row("prefs@example.com")
    assert await preferences_of(user["id"]) == [("email", True, 1)]  # stored, not implied
    await verify(client, mailbox, "prefs@example.com")
    auth = bearer((await sign_in(client, "prefs@example.com")).json()["accessToken"])
    shown = await client.get("/v1/notifications/preferences", headers=auth)
    assert shown.json() == {"preferences": [{"channel": "email", "enabled": True,
                                             "priority": 1}]}


async def test_a_provisioned_admin_starts_with_the_email_preference(settings, clock):
    from domain.users.provisioning import provision_admin

    container = await bootstrap(settings, clock=clock)
    try:
        done = await provision_admin(container.services, email="root@example.com",
                                     password=PASSWORD, send_reset=False)
    finally:
        await container.close()
    assert done.created
    assert await preferences_of(done.user.id) == [("email", True, 1)]


async def test_migration_m0006_gives_older_accounts_the_email_preference(settings):
    """The data step of m0006, run again on this database: an account without a list (as
    every account was before issue 13) gets [email, enabled, 1]; one with a list keeps it.
    The step also creates m0006's two indexes, so they are dropped first (and restored
    whatever happens)."""
    from db.migrations.m0006_membership_indexes_default_preference import INDEXES, forwards

    now = current()
    older, chosen = uuid.uuid4(), uuid.uuid4()
    for user_id in (older, chosen):
        await User.insert(User(id=user_id, email=f"{user_id}@example.com",
                               email_lower=f"{user_id}@example.com", password_hash="x"))
    await NotificationPreference.insert(NotificationPreference(
        id=uuid.uuid4(), user_id=chosen, channel="sms", enabled=True, priority=1))
    manager = await forwards()
    try:
        for name, _ in INDEXES:
            await now.run_ddl(f"DROP INDEX {name}")
        for step in manager.raw:
            await step()
    finally:
        for name, target in INDEXES:
            await now.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {target}")
    assert await preferences_of(older) == [("email", True, 1)]
    assert await preferences_of(chosen) == [("sms", True, 1)]
