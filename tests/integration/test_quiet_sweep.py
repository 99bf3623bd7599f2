"""The outbox sweep runs every 10 s: the log shows it only when it did something (a real arq
worker running the sweep as a cron job every second, real Redis and database)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Iterator

import pytest
from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.asyncio import Redis

from tests.support import register, serving
from worker.settings import WorkerSettings
from worker.tasks import sweep


class Recorder(logging.Handler):
    """Records of arq's worker logger and ours, as the worker process would print them.
    (Not logs: the app's lifespan installs Litestar's logging config on the root logger.)"""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs() -> Iterator[Recorder]:
    recorder = Recorder()
    loggers = [logging.getLogger("arq.worker"), logging.getLogger("latchkey")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(recorder)
        logger.setLevel(logging.INFO)
    yield recorder
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(recorder)
        logger.setLevel(level)


def sweep_lines(logs: Recorder) -> list[str]:
    return [r.getMessage() for r in logs.records
            if re.search(r"[→←↻] cron:sweep", r.getMessage()) or r.getMessage().startswith("sweep")]


async def wait_for(check, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_the_sweep_logs_one_line_only_when_it_requeued(settings, clock, logs):
    worker = Worker(
        functions=[], queue_name="latchkey-test-sweep",  # never takes the API's jobs
        cron_jobs=[cron(sweep, second=set(range(60)), unique=True, timeout=60)],  # every second
        on_startup=WorkerSettings.on_startup, on_shutdown=WorkerSettings.on_shutdown,
        redis_settings=RedisSettings.from_dsn(settings.redis_url), poll_delay=0.05,
        handle_signals=False, ctx={"settings": settings, "clock": clock})
    task = asyncio.create_task(worker.async_run())
    try:
        await wait_for(lambda: worker.jobs_complete >= 2)  # two sweeps with nothing to do
        assert sweep_lines(logs) == []

        async with serving(settings, clock, worker=False) as client:  # nobody delivers
            assert (await register(client, "lost@example.com")).status_code == 201
        redis = Redis.from_url(settings.redis_url)
        await redis.flushdb()  # the queued job is lost, as when Redis restarts empty
        await redis.aclose()
        clock.advance(seconds=settings.outbox_sweep_after + 1)
        await wait_for(lambda: sweep_lines(logs))
        done = worker.jobs_complete
        await wait_for(lambda: worker.jobs_complete >= done + 1)  # and one more, quiet again
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()
    assert sweep_lines(logs) == [
        "sweep: re-enqueued 1 of 1 stale outbox messages, restored 0 lost deny-list entries"]
    assert [r.name for r in logs.records if r.getMessage().startswith("sweep")] == [
        "latchkey.worker"]
