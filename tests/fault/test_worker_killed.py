"""Fault cases 2 and 3: the worker process dies in the middle of sending an email.

2. SIGKILL after the SMTP server accepted the message but before the worker could mark it
   sent: nothing can tell the message went out, so it is sent again, at most once more, with
   the same Message-ID (``<outbox id@latchkey>``) so a receiving system can de-duplicate.
3. SIGTERM while the SMTP server has not yet answered: the job is cancelled before the message
   was accepted; it goes back to the queue and the next worker delivers it once.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

from db.tables import OutboxMessage
from domain.maintenance import STUCK_SENDING_AFTER
from tests.fault.conftest import SystemFactory
from tests.fault.flows import eventually, job_keys, message_of, register
from tests.fault.system import WAIT, FaultySink
from tests.processes import wait_until


async def test_a_worker_killed_after_the_smtp_server_accepted_sends_it_once_more_same_id(
        system: SystemFactory, sink: FaultySink) -> None:
    running = system(OUTBOX_SWEEP_AFTER="1")
    for n in range(3):
        register(running.url, f"before{n}@example.com")
    victim = "victim@example.com"
    sink.hold, sink.hold_after_store = {victim}, True
    register(running.url, victim)
    assert await asyncio.to_thread(sink.held.wait, WAIT), "the victim's email reached the sink"
    assert len(sink.to(victim)) == 1  # accepted and stored; the 250 is held back

    running.stop(running.workers[0], signal.SIGKILL)
    sink.hold = set()
    sink.gate.set()
    row = await message_of(victim)
    assert row["status"] == "sending", row  # the worker died before it could mark it sent
    for n in range(3):  # queued while no worker runs
        register(running.url, f"during{n}@example.com")

    # A SIGKILL leaves two timers behind, both 5 minutes long: arq's lock on the running job
    # (its in-progress key, job timeout 300 s) and the row's "sending" age after which the
    # sweep returns it to pending (STUCK_SENDING_AFTER). Advanced here instead of waited for.
    await OutboxMessage.update(
        {OutboxMessage.updated_at: OutboxMessage.updated_at
         - timedelta(seconds=STUCK_SENDING_AFTER + 1)}
    ).where(OutboxMessage.id == row["id"])
    in_progress, _ = job_keys(row["id"])
    running.redis.pexpire(in_progress, 1)
    running.start_worker()

    assert len(sink.wait_for(victim, count=2, timeout=WAIT)) == 2
    for n in range(3):
        sink.wait_for(f"during{n}@example.com", timeout=WAIT)
    await eventually(lambda: _sent(victim), "the victim's row marked sent")
    first, second = sink.message_ids(victim)
    assert first == second == f"<{row['id']}@latchkey>"
    others = [m for m in sink.received if victim not in m.recipients]
    assert len(others) == 6  # nothing else duplicated
    assert len({str(m.message["Message-ID"]) for m in others}) == 6
    assert (await message_of(victim))["attempts"] == 2


async def test_a_worker_stopped_mid_send_hands_the_job_back_and_the_next_one_delivers_it_once(
        system: SystemFactory, sink: FaultySink) -> None:
    running = system()
    victim = "inflight@example.com"
    sink.hold = {victim}  # held before the message is accepted
    register(running.url, victim)
    assert await asyncio.to_thread(sink.held.wait, WAIT), "the email reached the sink"

    worker = running.workers[0]
    worker.send_signal(signal.SIGTERM)
    wait_until(lambda: worker.poll() is not None, "the worker's exit after SIGTERM", 10)
    sink.hold = set()
    sink.gate.set()
    assert sink.to(victim) == []  # never accepted: the sender went away first
    row = await message_of(victim)
    assert row["status"] == "pending", f"the cancelled send is handed back at once: {row}"

    running.start_worker()
    assert len(sink.wait_for(victim, timeout=WAIT)) == 1
    await eventually(lambda: _sent(victim), "the row marked sent")
    assert not running.redis.exists(f"arq:job:{row['id']}")  # no job left to send it again
    assert len(sink.to(victim)) == 1


async def _sent(recipient: str) -> bool:
    return (await message_of(recipient))["status"] == "sent"
