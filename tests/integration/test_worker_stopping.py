"""worker/stopping.py in this process, against the real Redis: a stop is bounded whatever the
jobs and the shutdown hooks do (tests/fault/test_worker_stopping.py drives the real process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from arq import func
from arq.connections import RedisSettings, create_pool

from db.transaction import to_completion
from domain.settings import Settings
from worker.resilient import ResilientWorker

GRACE = 4.0  # seconds: jobs get 2 of them, closing steps until 3.6


@contextlib.asynccontextmanager
async def worker_running(settings: Settings, job: Callable[..., Awaitable[Any]],
                         on_shutdown: Callable[..., Awaitable[None]] | None = None
                         ) -> AsyncIterator[ResilientWorker]:
    worker = ResilientWorker(
        functions=[func(job, name="job")], redis_settings=RedisSettings.from_dsn(
            settings.redis_url), handle_signals=False, poll_delay=0.01,
        on_shutdown=on_shutdown, shutdown_grace=GRACE)
    main = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main


async def started(settings: Settings) -> asyncio.Event:
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    await redis.enqueue_job("job")
    await redis.aclose()
    return STARTED


STARTED = asyncio.Event()


@pytest.fixture(autouse=True)
def fresh_event(clean: None) -> None:
    STARTED.clear()


async def stubborn(ctx: dict[str, Any]) -> None:
    """Loses its first cancellation, as Python 3.11's wait_for does when the awaited reply
    lands together with the cancel (aiosmtplib)."""
    STARTED.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(60)
    await asyncio.sleep(60)


async def test_a_job_that_lost_its_cancellation_is_cancelled_again(settings: Settings) -> None:
    async with worker_running(settings, stubborn) as worker:
        await asyncio.wait_for((await started(settings)).wait(), 10)
        began = time.monotonic()
        await worker.close()
        assert time.monotonic() - began < 1.5  # not the 2 s the jobs may have
        assert worker.tasks and all(task.done() for task in worker.tasks.values())


async def patient(ctx: dict[str, Any]) -> None:
    STARTED.set()
    await asyncio.sleep(60)


async def test_a_shutdown_hook_that_never_returns_is_cut_short(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    async def hangs(ctx: dict[str, Any]) -> None:
        await asyncio.Event().wait()  # e.g. a pool close waiting for a connection

    async with worker_running(settings, patient, on_shutdown=hangs) as worker:
        await asyncio.wait_for((await started(settings)).wait(), 10)
        began = time.monotonic()
        with caplog.at_level(logging.ERROR, logger="latchkey.worker"):
            await worker.close()
        assert time.monotonic() - began < GRACE
        assert "on_shutdown did not finish in time" in caplog.text


async def test_a_write_finishes_while_its_task_is_cancelled_again_and_again() -> None:
    done: list[str] = []

    async def write() -> str:
        await asyncio.sleep(0.2)
        done.append("written")
        return "ok"

    async def job() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await to_completion(write())
            raise

    task = asyncio.create_task(job())
    await asyncio.sleep(0.01)
    for _ in range(5):
        task.cancel()
        await asyncio.sleep(0.02)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done == ["written"]
    assert await to_completion(write()) == "ok"  # uncancelled: just the result
