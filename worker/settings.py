"""arq worker: ``arq worker.settings.WorkerSettings`` (the Procfile's worker process).

Cron jobs run here too (unique per tick across workers): the outbox sweep every 10 s and
the cleanup of expired rows hourly.
"""

from __future__ import annotations

from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

from db.redis.queue import DELIVER_MESSAGE
from domain.clock import utcnow
from scripts.bootstrap import bootstrap, settings_or_exit
from worker.tasks import Sender, delete_expired, deliver_message, sweep

PG_POOL_SIZE = 10


async def startup(ctx: dict[str, Any]) -> None:
    """Build what jobs need through the bootstrap, reusing arq's Redis pool. Tests pre-fill
    ``settings`` and ``clock`` in ctx."""
    settings = ctx.setdefault("settings", SETTINGS)
    clock = ctx.setdefault("clock", utcnow)
    ctx["container"] = await bootstrap(settings, clock=clock, redis=ctx["redis"],
                                       pool_size=PG_POOL_SIZE)
    ctx["sender"] = Sender(settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    if "sender" in ctx:  # absent when stopped before startup finished
        await ctx["sender"].close()
    if "container" in ctx:
        await ctx["container"].close()


SETTINGS = settings_or_exit("worker")

FUNCTIONS = [
    # keep_result=0: a finished job leaves no result key, so the sweep may enqueue the same
    # message id again if its row is still pending.
    func(deliver_message, name=DELIVER_MESSAGE, keep_result=0,
         max_tries=SETTINGS.delivery_max_tries),
]
CRON_JOBS = [
    cron(sweep, second={0, 10, 20, 30, 40, 50}, unique=True, timeout=60),
    cron(delete_expired, minute=17, second=5, unique=True, timeout=1800),
]


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(SETTINGS.redis_url)
    poll_delay = SETTINGS.arq_poll_delay
    max_jobs = 50
    keep_result = 60
