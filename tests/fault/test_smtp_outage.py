"""Fault case 1: the SMTP server is down for "5 minutes" while 50 messages are queued; all 50
arrive once it is back, each once, each with its own Message-ID.

Time scale. The delivery backoff is DELIVERY_RETRY_BASE * 2^(try-1) between tries (worker/
tasks.py, capped at 300 s), at most DELIVERY_MAX_TRIES tries. With the test's base of 0.02 s
every delay is 1/50 of the default's (base 1 s), so the 6 s outage below stands for 300 s,
5 minutes, at the default base. A message first tried when the outage begins is tried at
0, 1, 3, 7, 15, 31, 63, 127, 255, 511 base units: the default 8 tries give up after 127 s
(a real outage of about 2 minutes is the longest the defaults outlast); a 5-minute outage
needs DELIVERY_MAX_TRIES=10 (last try at 511 s, 8.5 minutes), as set here. Messages that
run out of tries become dead letters (status failed), replayed by an operator.
"""

from __future__ import annotations

import asyncio
import time

from tests.fault.conftest import SystemFactory
from tests.fault.flows import eventually, messages, register, statuses
from tests.fault.system import WAIT, FaultySink

OUTAGE = 6.0  # seconds: 300 base units of 0.02 s, "5 minutes" at the default base of 1 s
COUNT = 50


async def test_fifty_messages_queued_while_smtp_is_down_all_arrive_once_after_it_returns(
        system: SystemFactory, sink: FaultySink) -> None:
    url = system(DELIVERY_RETRY_BASE="0.02", DELIVERY_MAX_TRIES="10").url
    sink.down()
    outage_began = time.monotonic()
    addresses = [f"queued{n:02d}@example.com" for n in range(COUNT)]
    for address in addresses:
        register(url, address)  # committed; the worker tries each and fails (refused)

    async def all_retrying() -> bool:
        rows = await messages("verify_email")
        return len(rows) == COUNT and all(r["attempts"] >= 2 for r in rows)

    await eventually(all_retrying, "a failed first try of every message")
    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - outage_began)))  # the outage itself
    assert sink.received == []
    assert set(await statuses()) <= {"pending", "sending"}  # waiting, or in a try right now
    sink.up()

    for address in addresses:
        sink.wait_for(address, timeout=WAIT)
    await eventually(lambda: _all_sent(), "every row marked sent")
    assert sorted(r for m in sink.received for r in m.recipients) == addresses  # each once
    assert len({str(m.message["Message-ID"]) for m in sink.received}) == COUNT
    rows = await messages("verify_email")
    # each was retried through the outage and none gave up (DELIVERY_MAX_TRIES 10)
    assert all(3 <= r["attempts"] <= 10 for r in rows), [r["attempts"] for r in rows]
    assert all(m.links for m in sink.received), "every email carries its working link"


async def _all_sent() -> bool:
    return await statuses() == {"sent": COUNT}
