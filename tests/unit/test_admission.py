"""The bounded hashing queue (domain/passwords/admission.py) on its own, with a fake clock for
hold times and episodes; the only real waiting is a deadline of a few tens of milliseconds."""

from __future__ import annotations

import asyncio
import logging

import pytest

from domain.errors import Overloaded
from domain.passwords.admission import QUIET_SECONDS, HashAdmission, client_gone


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def hold(admission: HashAdmission, release: asyncio.Event, log: list[str], name: str
               ) -> None:
    async with admission.slot():
        log.append(name)
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_at_most_concurrency_holders_then_fifo():
    admission = HashAdmission(concurrency=2, max_wait=60, clock=FakeClock())
    started: list[str] = []
    gates = {n: asyncio.Event() for n in "abcd"}
    tasks = [asyncio.create_task(hold(admission, gates[n], started, n)) for n in "abcd"]
    await settle()
    assert started == ["a", "b"] and admission.running == 2 and admission.queued == 2
    gates["b"].set()
    await settle()
    assert started == ["a", "b", "c"]  # b's slot went to the oldest waiter
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*tasks)
    assert started == ["a", "b", "c", "d"] and admission.running == 0 and admission.queued == 0


async def test_a_hopeless_request_is_refused_at_once_with_retry_after():
    clock = FakeClock()
    admission = HashAdmission(concurrency=1, max_wait=3.0, clock=clock)
    admission.observe(1.0)  # one hash holds a slot for 1 s
    release = asyncio.Event()
    started: list[str] = []
    holder = asyncio.create_task(hold(admission, release, started, "holder"))
    waiters = [asyncio.create_task(hold(admission, release, started, f"w{i}")) for i in (1, 2)]
    await settle()
    # estimated waits 1 s and 2 s, each with the 1 s slot interval to spare: both may wait
    assert admission.queued == 2
    assert admission.estimated_wait() == 3.0  # the next would start at its deadline: refused
    with pytest.raises(Overloaded) as refused:
        async with admission.slot():
            raise AssertionError("a refused request must not run")
    assert refused.value.retry_after == 2  # the queue ahead drains in ~2 s
    assert admission.refused_total == 1 and admission.queued == 2
    release.set()
    await asyncio.gather(holder, *waiters)
    assert started == ["holder", "w1", "w2"] and admission.running == 0
    admission.close()


async def test_a_waiter_past_its_deadline_is_refused_and_takes_no_slot():
    admission = HashAdmission(concurrency=1, max_wait=0.05, clock=FakeClock())
    release = asyncio.Event()
    started: list[str] = []
    holder = asyncio.create_task(hold(admission, release, started, "holder"))
    await settle()
    with pytest.raises(Overloaded):  # no hold time measured yet: queued, then timed out
        async with admission.slot():
            raise AssertionError("must not run")
    assert admission.queued == 0 and admission.running == 1
    release.set()
    await holder
    assert admission.running == 0
    async with admission.slot():  # the slot is free again
        assert admission.running == 1
    admission.close()


async def test_a_waiter_whose_client_left_is_dropped_unhashed():
    admission = HashAdmission(concurrency=1, max_wait=60, clock=FakeClock())
    release, left = asyncio.Event(), asyncio.Event()
    started: list[str] = []
    holder = asyncio.create_task(hold(admission, release, started, "holder"))
    await settle()

    async def abandoned() -> None:
        client_gone.set(left.wait)  # what api/middleware.py sets per request
        await hold(admission, release, started, "abandoned")

    queued = asyncio.create_task(abandoned())
    behind = asyncio.create_task(hold(admission, release, started, "behind"))
    await settle()
    assert admission.queued == 2
    left.set()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert admission.abandoned_total == 1 and admission.queued == 1
    release.set()
    await asyncio.gather(holder, behind)
    assert started == ["holder", "behind"] and admission.running == 0


async def test_a_cancelled_waiter_leaves_the_queue():
    admission = HashAdmission(concurrency=1, max_wait=60, clock=FakeClock())
    release = asyncio.Event()
    started: list[str] = []
    holder = asyncio.create_task(hold(admission, release, started, "holder"))
    await settle()
    waiter = asyncio.create_task(hold(admission, release, started, "cancelled"))
    await settle()
    waiter.cancel()
    await settle()
    assert admission.queued == 0
    release.set()
    await holder
    assert admission.running == 0 and started == ["holder"]


async def test_hold_time_is_an_ewma_of_measured_holds():
    clock = FakeClock()
    admission = HashAdmission(concurrency=2, max_wait=2.0, clock=clock)
    assert admission.hold_seconds is None
    async with admission.slot():
        clock.now += 0.5
    assert admission.hold_seconds == 0.5
    async with admission.slot():
        clock.now += 1.5
    assert admission.hold_seconds == pytest.approx(0.5 + 0.2 * (1.5 - 0.5))
    measured = admission.hold_seconds
    async with admission.slot(measured=False):  # e.g. a locked account: no hash ran
        clock.now += 0.001
    assert admission.hold_seconds == measured  # such turns must not make hashing look fast
    async with admission.slot(measured=False) as held:
        held.measured = True  # the turn did hash after all
        clock.now += 1.0
    assert admission.hold_seconds != measured


async def test_one_warning_when_shedding_starts_and_one_with_the_count_when_it_ends(caplog):
    clock = FakeClock()
    admission = HashAdmission(concurrency=1, max_wait=0.5, clock=clock)
    admission.observe(1.0)  # any waiter would wait 1 s > 0.5 s
    release = asyncio.Event()
    holder = asyncio.create_task(hold(admission, release, [], "holder"))
    await settle()
    with caplog.at_level(logging.WARNING, logger="latchkey.hashing"):
        for _ in range(5):
            clock.now += 0.1
            with pytest.raises(Overloaded):
                async with admission.slot():
                    pass
        release.set()
        await holder
        clock.now += QUIET_SECONDS - 0.1  # not quiet long enough yet
        async with admission.slot():
            pass
        clock.now += 0.2
        async with admission.slot():
            pass
    lines = [r.getMessage() for r in caplog.records if r.name == "latchkey.hashing"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("password hashing overloaded: refusing with 503")
    assert lines[1] == "password hashing overload ended: 5 requests refused in 0.4s"
    assert admission.refused_total == 5
    admission.close()
