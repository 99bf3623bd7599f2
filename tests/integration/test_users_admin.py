"""Users and administration: who sees which profile, PATCH me, the admin's list, roles and
the last admin, deactivation ending every session at once, and deletion erasing personal
data (checked in the tables) — through the real app, worker, database and Redis."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from db.repositories import users
from db.tables import (
    AuditEvent,
    BackupCode,
    NotificationPreference,
    OneTimeToken,
    OtpCode,
    OutboxMessage,
    PushDevice,
    RefreshToken,
    Session,
    TotpCredential,
    TwoFactorChallenge,
    User,
)
from domain.names import AuditAction
from domain.passwords.hashing import PasswordHasher
from tests.support import PASSWORD, bearer, register, sign_in, wait_mail

DEACTIVATED = "Your account was deactivated"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")


@pytest.fixture
async def account(client, settings, clock):
    """``await account(email, name=None, admin=False)`` -> user id: a verified account with
    PASSWORD, written straight to the database (registration is tested elsewhere)."""
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()

    async def make(email: str, name: str | None = None, admin: bool = False) -> uuid.UUID:
        user = await users.insert(email=email, password_hash=password_hash, name=name,
                                  now=clock(), roles=["admin"] if admin else ["user"],
                                  verified=True)
        return user.id

    return make


async def signed_in(client, email, **headers):
    response = await client.post("/v1/auth/signin", headers=headers,
                                 json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


async def events(user_id, action=None):
    where = AuditEvent.user_id == user_id
    if action is not None:
        where &= AuditEvent.action == action.value
    return await AuditEvent.select().where(where)


async def test_another_users_profile_is_404_to_a_user_and_visible_to_an_admin(client, account):
    ann_id = await account("ann@example.com", "Ann")
    bob_id = await account("bob@example.com", "Bob")
    await account("root@example.com", "Root", admin=True)
    ann = bearer((await signed_in(client, "ann@example.com"))["accessToken"])
    root = bearer((await signed_in(client, "root@example.com"))["accessToken"])

    for path in ("/v1/users/me", f"/v1/users/{ann_id}"):
        mine = await client.get(path, headers=ann)
        assert mine.status_code == 200 and mine.json()["email"] == "ann@example.com"
    hidden = await client.get(f"/v1/users/{bob_id}", headers=ann)
    unknown = await client.get(f"/v1/users/{uuid.uuid4()}", headers=ann)
    garbage = await client.get("/v1/users/not-an-id", headers=ann)
    assert hidden.status_code == unknown.status_code == garbage.status_code == 404
    assert hidden.content == unknown.content == garbage.content  # nothing tells them apart

    seen = await client.get(f"/v1/users/{bob_id}", headers=root)
    assert seen.status_code == 200
    assert seen.json()["email"] == "bob@example.com" and seen.json()["roles"] == ["user"]
    assert (await client.get(f"/v1/users/{uuid.uuid4()}", headers=root)).status_code == 404
    assert (await client.get("/v1/users", headers=ann)).status_code == 403
    assert (await client.get("/v1/users")).status_code == 401
    assert (await client.patch(f"/v1/users/{bob_id}/role", headers=ann,
                               json={"role": "admin"})).status_code == 403
    assert (await client.delete(f"/v1/users/{bob_id}", headers=ann)).status_code == 404
    assert (await users.get_by_id(bob_id)).roles == ["user"]


async def test_patch_me_name_and_phone(client, account):
    ann_id = await account("ann@example.com", "Ann")
    ann = bearer((await signed_in(client, "ann@example.com"))["accessToken"])

    changed = await client.patch("/v1/users/me", headers=ann,
                                 json={"name": "  Ann Lee ", "phoneNumber": "+1 415 555 2671"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Ann Lee"
    assert changed.json()["phoneNumber"] == "+14155552671"
    assert changed.json()["phoneVerified"] is False
    audited = await events(ann_id, AuditAction.USER_UPDATED)
    assert len(audited) == 1 and "4155552671" not in str(audited[0]["metadata"])
    assert "+1******2671" in str(audited[0]["metadata"])

    await User.update({User.phone_verified_at: User.created_at}).where(User.id == ann_id)
    same = await client.patch("/v1/users/me", headers=ann, json={"phoneNumber": "+14155552671"})
    assert same.json()["phoneVerified"] is True  # the same number stays verified
    assert same.json()["name"] == "Ann Lee"  # fields not sent are left alone
    other = await client.patch("/v1/users/me", headers=ann, json={"phoneNumber": "+447911123456"})
    assert other.json()["phoneNumber"] == "+447911123456"
    assert other.json()["phoneVerified"] is False  # a new number is unverified
    removed = await client.patch("/v1/users/me", headers=ann,
                                 json={"phoneNumber": None, "name": None})
    assert removed.json()["phoneNumber"] is None and removed.json()["name"] is None

    bad = await client.patch("/v1/users/me", headers=ann, json={"phoneNumber": "555-1234"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "phoneNumber"
    control = await client.patch("/v1/users/me", headers=ann, json={"name": "a\x00b"})
    assert control.status_code == 400
    assert (await client.patch("/v1/users/me", json={"name": "x"})).status_code == 401


async def test_admin_list_filters_search_pagination_and_total(client, account):
    await account("root@example.com", "Root", admin=True)
    await account("zed@example.com", "Zed")
    await account("amy@example.com", "amy")
    await account("nameless@example.com")
    await account("underscore@example.com", "Bo_b")
    await account("percent@example.com", "100% Carl")
    off_id = await account("off@example.com", "Off")
    gone_id = await account("gone@example.com", "Gone")
    await User.update({User.is_active: False}).where(User.id == off_id)
    root = bearer((await signed_in(client, "root@example.com"))["accessToken"])
    assert (await client.delete(f"/v1/users/{gone_id}", headers=root)).status_code == 204

    async def listed(**query):
        response = await client.get("/v1/users", headers=root, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        return [u["email"].split("@")[0] for u in body["users"]], body["total"]

    everyone = ["percent", "amy", "underscore", "off", "root", "zed", "nameless"]
    active = [e for e in everyone if e != "off"]
    assert await listed() == (active, 6)  # inactive accounts hidden by default
    assert await listed(includeInactive="true") == (everyone, 7)  # by name, nameless last
    assert await listed(role="admin") == (["root"], 1)
    assert await listed(role="user", isActive="true") == (
        ["percent", "amy", "underscore", "zed", "nameless"], 5)
    assert await listed(isActive="false") == (["off"], 1)
    assert await listed(q="AMY") == (["amy"], 1)  # case-insensitive, name or email
    assert await listed(q="NAMELESS@") == (["nameless"], 1)
    assert await listed(q="_") == (["underscore"], 1)  # wildcards are taken literally
    assert await listed(q="%") == (["percent"], 1)
    assert await listed(q="gone") == ([], 0)  # erased accounts never appear
    assert await listed(limit=2, offset=1, includeInactive="true") == (
        ["amy", "underscore"], 7)
    assert await listed(limit=5, offset=5, includeInactive="true") == (["zed", "nameless"], 7)
    assert await listed(offset=50) == ([], 6)
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"role": "owner"},
                {"isActive": "maybe"}, {"includeInactive": "maybe"}, {"teamId": "x"}):
        response = await client.get("/v1/users", headers=root, params=bad)
        assert response.status_code == 400, (bad, response.text)
    assert len((await client.get("/v1/users", headers=root)).json()["users"]) == 6


async def test_role_changes_are_audited_and_the_last_admin_stays(client, account):
    root_id = await account("root@example.com", "Root", admin=True)
    ann_id = await account("ann@example.com", "Ann")
    root = bearer((await signed_in(client, "root@example.com"))["accessToken"])

    alone = await client.patch(f"/v1/users/{root_id}/role", headers=root, json={"role": "user"})
    assert alone.status_code == 409 and alone.json()["type"] == "last_admin"
    assert (await client.patch(f"/v1/users/{root_id}/status", headers=root,
                               json={"isActive": False})).json()["type"] == "last_admin"
    assert (await client.request("DELETE", "/v1/users/me", headers=root,
                                json={"password": PASSWORD})).json()["type"] == "last_admin"
    assert (await users.get_by_id(root_id)).roles == ["admin"]

    promoted = await client.patch(f"/v1/users/{ann_id}/role", headers=root,
                                  json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["roles"] == ["admin"]
    [event] = await events(ann_id, AuditAction.USER_ROLE_CHANGED)
    assert event["actor_id"] == root_id and event["user_id"] == ann_id
    ann = bearer((await signed_in(client, "ann@example.com"))["accessToken"])
    assert (await client.get("/v1/users", headers=ann)).status_code == 200

    demoted = await client.patch(f"/v1/users/{root_id}/role", headers=ann, json={"role": "user"})
    assert demoted.status_code == 200 and demoted.json()["roles"] == ["user"]
    assert (await client.get("/v1/users", headers=root)).status_code == 403  # at once
    last = await client.patch(f"/v1/users/{ann_id}/role", headers=ann, json={"role": "user"})
    assert last.status_code == 409 and last.json()["type"] == "last_admin"
    assert (await client.patch(f"/v1/users/{uuid.uuid4()}/role", headers=ann,
                               json={"role": "user"})).status_code == 404
    assert (await client.patch(f"/v1/users/{ann_id}/role", headers=ann,
                               json={"role": "owner"})).status_code == 400


async def test_two_admins_demoting_each_other_at_once_leave_one(client, account):
    a_id = await account("a@example.com", admin=True)
    b_id = await account("b@example.com", admin=True)
    a = bearer((await signed_in(client, "a@example.com"))["accessToken"])
    b = bearer((await signed_in(client, "b@example.com"))["accessToken"])
    answers = await asyncio.gather(*(
        client.patch(f"/v1/users/{target}/role", headers=actor, json={"role": "user"})
        for _ in range(10) for actor, target in ((a, b_id), (b, a_id))))
    statuses = {r.status_code for r in answers}
    assert 200 in statuses and statuses <= {200, 403, 409}, statuses
    admins = [u for u in (await users.get_by_id(a_id), await users.get_by_id(b_id))
              if "admin" in u.roles]
    assert len(admins) == 1


async def test_deactivation_ends_every_session_at_once_and_reactivation_restores(
        client, account, mailbox):
    root_id = await account("root@example.com", "Root", admin=True)
    ann_id = await account("ann@example.com", "Ann")
    root = bearer((await signed_in(client, "root@example.com"))["accessToken"])
    laptop = await signed_in(client, "ann@example.com")
    phone = await signed_in(client, "ann@example.com", **{"user-agent": IPHONE})
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(laptop["accessToken"]))).status_code == 200
    wrong_password = await client.post("/v1/auth/signin", json={
        "email": "ann@example.com", "password": "not the password at all"})

    off = await client.patch(f"/v1/users/{ann_id}/status", headers=root,
                             json={"isActive": False})
    assert off.status_code == 200 and off.json()["isActive"] is False
    for pair in (laptop, phone):  # the very next request, long before the tokens expire
        assert (await client.get("/v1/auth/profile",
                                 headers=bearer(pair["accessToken"]))).status_code == 401
        refreshed = await client.post("/v1/auth/refresh",
                                      json={"refreshToken": pair["refreshToken"]})
        assert refreshed.status_code == 401
    refused = await sign_in(client, "ann@example.com")
    assert refused.status_code == 401
    assert refused.content == wrong_password.content  # exactly like a wrong password
    assert refused.headers.keys() == wrong_password.headers.keys()
    assert (await Session.count().where((Session.user_id == ann_id)
                                        & Session.revoked_at.is_null())) == 0
    alert = (await wait_mail(mailbox, "ann@example.com", subject=DEACTIVATED))[0]
    assert "deactivated by an administrator" in alert.text
    assert "127.0.0.1" not in alert.text  # no admin's address goes to the account's owner
    [event] = await events(ann_id, AuditAction.USER_DEACTIVATED)
    assert event["actor_id"] == root_id
    again = await client.patch(f"/v1/users/{ann_id}/status", headers=root,
                               json={"isActive": False})
    assert again.status_code == 200 and len(await events(ann_id,
                                                         AuditAction.USER_DEACTIVATED)) == 1

    on = await client.patch(f"/v1/users/{ann_id}/status", headers=root, json={"isActive": True})
    assert on.status_code == 200 and on.json()["isActive"] is True
    assert (await sign_in(client, "ann@example.com")).status_code == 200
    [event] = await events(ann_id, AuditAction.USER_REACTIVATED)
    assert event["actor_id"] == root_id
    # the old sessions stay ended
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(laptop["accessToken"]))).status_code == 401


async def test_a_deactivated_admin_loses_admin_rights_at_once(client, account):
    await account("root@example.com", admin=True)
    other_id = await account("other@example.com", admin=True)
    root = bearer((await signed_in(client, "root@example.com"))["accessToken"])
    other = bearer((await signed_in(client, "other@example.com"))["accessToken"])
    assert (await client.patch(f"/v1/users/{other_id}/status", headers=root,
                               json={"isActive": False})).status_code == 200
    assert (await client.get("/v1/users", headers=other)).status_code == 401


async def fill_personal_data(user_id, now):
    """One row of every kind of personal data the account can have."""
    await PushDevice.insert(PushDevice(user_id=user_id, platform="ios", device_token="apns-1",
                                       device_name="Ann's iPhone", created_at=now,
                                       last_seen_at=now))
    await User.update({User.push_device_count: 1, User.phone_number: "+14155552671"}).where(
        User.id == user_id)
    await NotificationPreference.insert(NotificationPreference(user_id=user_id,
                                                               channel="email"))
    await OneTimeToken.insert(OneTimeToken(user_id=user_id, purpose="magic_link",
                                           token_hash="a" * 64, ip_address="10.1.2.3",
                                           expires_at=now + timedelta(minutes=15)))
    await OtpCode.insert(OtpCode(user_id=user_id, purpose="contact_sms", code_hmac="b" * 64,
                                 target="+14155552671", expires_at=now + timedelta(minutes=5)))
    await TotpCredential.insert(TotpCredential(user_id=user_id, secret_encrypted="x"))
    await BackupCode.insert(BackupCode(user_id=user_id, code_hmac="c" * 64))
    await TwoFactorChallenge.insert(TwoFactorChallenge(
        user_id=user_id, token_hash="d" * 64, first_factor="pwd",
        expires_at=now + timedelta(minutes=5)))
    await AuditEvent.insert(AuditEvent(user_id=user_id, action="contact.code.sent",
                                       ip_address="10.1.2.3", metadata={
                                           "method": "sms", "value": "+1******2671",
                                           "to": "ann@example.com", "note": "ann@example.com",
                                           "nested": {"phone": "+14155552671", "n": 1}}))


async def left_for(user_id):
    """Rows per table still owned by the user."""
    sessions = Session.select(Session.id).where(Session.user_id == user_id)
    counts = {"refresh_tokens": await RefreshToken.count().where(
        RefreshToken.session_id.is_in(sessions))}
    for table in (Session, OneTimeToken, OtpCode, TotpCredential, BackupCode,
                  TwoFactorChallenge, PushDevice, NotificationPreference, OutboxMessage):
        counts[table._meta.tablename] = await table.count().where(table.user_id == user_id)
    return counts


async def assert_erased(user_id, email):
    assert set((await left_for(user_id)).values()) == {0}
    row = await User.select().where(User.id == user_id).first()
    assert row["email"] == row["email_lower"] == f"deleted-{user_id}@deleted.invalid"
    assert row["name"] is None and row["phone_number"] is None
    assert row["password_hash"] == "!" and not row["is_active"] and list(row["roles"]) == []
    assert row["deleted_at"] is not None
    trail = await events(user_id)
    assert len(trail) >= 3  # the trail stays, linked to the pseudonymous id
    assert all(e["ip_address"] is None and e["user_agent"] is None for e in trail
               if e["action"] != AuditAction.USER_DELETED.value or e["actor_id"] == user_id)
    text = str([e["metadata"] for e in trail])
    for personal in (email, "2671", "iPhone"):
        assert personal not in text, personal
    assert await users.get_by_id(user_id) is None
    assert await users.get_by_email(email) is None


async def test_self_deletion_with_password_erases_personal_data(client, account, mailbox,
                                                                clock):
    ann_id = await account("ann@example.com", "Ann")
    laptop = await signed_in(client, "ann@example.com")
    phone = await signed_in(client, "ann@example.com", **{"user-agent": IPHONE})
    await client.post("/v1/auth/password/forgot", json={"email": "ann@example.com"})
    await wait_mail(mailbox, "ann@example.com", subject="Reset your password")
    await fill_personal_data(ann_id, clock())
    ann = bearer(laptop["accessToken"])
    profile = (await client.get("/v1/users/me", headers=ann)).json()
    assert [d["name"] for d in profile["devices"]] == ["Ann's iPhone"]

    missing = await client.request("DELETE", "/v1/users/me", headers=ann)
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "password"
    wrong = await client.request("DELETE", "/v1/users/me", headers=ann,
                                 json={"password": "not my password at all"})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "password"
    assert (await users.get_by_id(ann_id)) is not None

    gone = await client.request("DELETE", f"/v1/users/{ann_id}", headers=ann,
                                json={"password": PASSWORD})
    assert gone.status_code == 204, gone.text
    await assert_erased(ann_id, "ann@example.com")
    [deleted] = await events(ann_id, AuditAction.USER_DELETED)
    assert deleted["actor_id"] == ann_id and deleted["ip_address"] is None
    for pair in (laptop, phone):
        assert (await client.get("/v1/auth/profile",
                                 headers=bearer(pair["accessToken"]))).status_code == 401
        assert (await client.post("/v1/auth/refresh", json={
            "refreshToken": pair["refreshToken"]})).status_code == 401
    assert (await sign_in(client, "ann@example.com")).status_code == 401
    assert (await sign_in(client, f"deleted-{ann_id}@deleted.invalid",
                          password="!")).status_code == 401

    again = await register(client, "ann@example.com")  # the address is free again
    assert again.status_code == 201 and again.json()["id"] != str(ann_id)


async def test_an_admin_deletes_an_account_without_its_password(client, account, clock):
    root_id = await account("root@example.com", "Root", admin=True)
    bob_id = await account("bob@example.com", "Bob")
    bob = await signed_in(client, "bob@example.com")
    await fill_personal_data(bob_id, clock())
    root = bearer((await signed_in(client, "root@example.com"))["accessToken"])

    assert (await client.delete(f"/v1/users/{bob_id}", headers=root)).status_code == 204
    await assert_erased(bob_id, "bob@example.com")
    [deleted] = await events(bob_id, AuditAction.USER_DELETED)
    assert deleted["actor_id"] == root_id
    assert (await client.get("/v1/auth/profile",
                             headers=bearer(bob["accessToken"]))).status_code == 401
    assert (await client.get(f"/v1/users/{bob_id}", headers=root)).status_code == 404
    assert (await client.delete(f"/v1/users/{bob_id}", headers=root)).status_code == 404
