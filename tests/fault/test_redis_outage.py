"""The fault seen on real processes: Redis goes away for a few seconds while the Procfile's
web and worker run. The worker must wait for it and carry on (arq's own worker exits), the API
must keep answering, and what was committed meanwhile must still be delivered, by the same
worker process, with nobody restarting anything."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from scripts.embedded_redis import EmbeddedRedis, free_port
from scripts.mailbox import Mailbox
from tests.fault.conftest import SystemFactory
from tests.fault.flows import eventually, messages, statuses
from tests.fault.flows import register as register_user
from tests.fault.system import WAIT, FaultySink
from tests.processes import running_system, wait_until
from tests.support import PASSWORD


def register(url: str, email: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/auth/register", json={"email": email, "password": PASSWORD},
                      timeout=10)


@pytest.mark.usefixtures("clean")
def test_worker_survives_a_redis_restart_and_delivers_what_was_committed_meanwhile(
        smtp: tuple[Mailbox, int]) -> None:
    mailbox, smtp_port = smtp
    mailbox.received.clear()
    port = free_port()
    redis = EmbeddedRedis(port=port).start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with running_system(smtp_port, procs, REDIS_URL=f"redis://127.0.0.1:{port}/0",
                            OUTBOX_SWEEP_AFTER="1") as url:
            web, worker = procs
            assert register(url, "before@example.com").status_code == 201
            mailbox.wait_for("before@example.com", timeout=10)

            redis.stop()
            started = time.monotonic()
            during = register(url, "during@example.com")
            assert during.status_code == 201, during.text  # committed; enqueue waits for later
            assert time.monotonic() - started < 5  # the failed enqueue does not hold the request
            # arq's own worker would have exited by now (its next poll is milliseconds away)
            time.sleep(1.5)
            assert worker.poll() is None, "the worker exited while Redis was away"

            redis = EmbeddedRedis(port=port).start()  # back, empty, on the same port
            # the sweep (every 10 s) re-enqueues what the API could not
            mail = mailbox.wait_for("during@example.com", timeout=30)
            assert mail[-1].links, "the verification email arrived with its link"
            assert register(url, "after@example.com").status_code == 201
            mailbox.wait_for("after@example.com", timeout=10)
            assert worker.poll() is None and web.poll() is None
            wait_until(lambda: len(mailbox.to("during@example.com")) == 1, "exactly one email")
    finally:
        redis.stop()


async def test_redis_emptied_while_messages_are_pending_the_sweep_requeues_every_one(
        system: SystemFactory, sink: FaultySink) -> None:
    """Fault case 5: Redis loses every key (FLUSHALL, as a restart without persistence does)
    while messages wait for their next try: the outbox sweep re-enqueues each unsent one and
    each is delivered once. The retry delay (60 s) outlasts the test: only the sweep can."""
    running = system(DELIVERY_RETRY_BASE="60", OUTBOX_SWEEP_AFTER="1")
    sink.down()
    addresses = [f"pending{n}@example.com" for n in range(10)]
    for address in addresses:
        register_user(running.url, address)

    async def all_tried_once() -> bool:
        rows = await messages("verify_email")
        return len(rows) == 10 and all(r["attempts"] == 1 and r["status"] == "pending"
                                       for r in rows)

    await eventually(all_tried_once, "a failed first try of each message")
    running.redis.flushall()  # the deferred retries are gone
    assert running.redis.zcard("arq:queue") == 0
    sink.up()

    for address in addresses:
        assert len(sink.wait_for(address, timeout=WAIT)) == 1
    await eventually(lambda: _statuses_are({"sent": 10}), "every message marked sent")
    assert sorted(r for m in sink.received for r in m.recipients) == addresses
    assert all(r["attempts"] == 2 for r in await messages("verify_email"))


async def _statuses_are(expected: dict[str, int]) -> bool:
    return await statuses() == expected
