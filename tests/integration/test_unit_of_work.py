"""The unit of work: rows inside the transaction, jobs and deny-list only after commit."""

from __future__ import annotations

import uuid

import pytest

from db.redis.denylist import PREFIX
from db.repositories import audit, users
from db.tables import OutboxMessage
from domain.messages import kinds
from domain.names import AuditAction
from domain.services import RequestInfo
from scripts.bootstrap import bootstrap

INFO = RequestInfo(ip_address="203.0.113.9", user_agent="uow-test/1.0")


@pytest.fixture
async def container(settings, clock):
    built = await bootstrap(settings, clock=clock)
    yield built
    await built.close()


async def queued_jobs(redis) -> int:
    return await redis.zcard("arq:queue")


async def test_commit_writes_rows_then_enqueues_and_denylists(container):
    svc = container.services
    session_id = uuid.uuid4()
    async with svc.unit_of_work(INFO) as uow:
        user = await users.insert(email="uow@example.com", password_hash="x", name="U",
                                  now=uow.now)
        message_id = uow.send(kinds.WELCOME, user=user)
        uow.audit(AuditAction.REGISTERED, user.id, actor_id=user.id, note="test")
        uow.end_sessions([session_id])
    row = await OutboxMessage.select().where(OutboxMessage.id == message_id).first()
    assert row["kind"] == "welcome" and row["recipient"] == "uow@example.com"
    assert await container.redis.exists(f"arq:job:{message_id}")
    assert await container.redis.exists(PREFIX + str(session_id))
    events = await audit.page(user.id, limit=5)
    assert [(e.action, e.ip_address, e.user_agent) for e in events] == [
        ("auth.register", "203.0.113.9", "uow-test/1.0")]


async def test_rollback_leaves_nothing_and_sends_nothing(container):
    svc = container.services
    session_id = uuid.uuid4()
    before = await queued_jobs(container.redis)
    with pytest.raises(RuntimeError):
        async with svc.unit_of_work(INFO) as uow:
            user = await users.insert(email="gone@example.com", password_hash="x", name=None,
                                      now=uow.now)
            uow.send(kinds.WELCOME, user=user)
            uow.audit(AuditAction.REGISTERED, user.id)
            uow.end_sessions([session_id])
            raise RuntimeError("the change fails half-way")
    assert await users.get_by_email("gone@example.com") is None
    assert await OutboxMessage.count() == 0
    assert await queued_jobs(container.redis) == before
    assert not await container.redis.exists(PREFIX + str(session_id))


async def test_the_sweep_restores_deny_list_entries_redis_lost(client, mailbox, container):
    """After Redis restarts empty, the sweep puts revoked sessions back on the deny-list."""
    from tests.support import bearer, sign_in, verified_user
    from worker.tasks import sweep

    await verified_user(client, mailbox, "lost@example.com")
    access = (await sign_in(client, "lost@example.com")).json()["accessToken"]
    assert (await client.post("/v1/auth/signout", headers=bearer(access))).status_code == 204
    await container.redis.flushdb()  # the deny-list entry is gone
    assert await container.services.denylist.missing([uuid.uuid4()]) == 1
    ctx = {"settings": container.settings, "clock": container.services.clock,
           "redis": container.redis, "container": container}
    assert (await sweep(ctx))["restored"] == 1
    assert (await sweep(ctx))["restored"] == 0  # back on the list
    assert (await client.get("/v1/auth/profile", headers=bearer(access))).status_code == 401
