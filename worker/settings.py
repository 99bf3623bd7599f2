"""arq worker settings: ``python -m worker`` runs them (the Procfile's worker process).

Cron jobs run here too (unique per tick across workers): the outbox sweep every 10 s and
the cleanup of expired rows hourly. Logging: arq prints two INFO lines per job run; for the
sweep (every 10 s) those are dropped, so the log shows what happened (the sweep's own line when
it did something, deliveries, every warning and error) instead of a heartbeat.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

from db.redis.queue import DELIVER_MESSAGE
from domain.clock import utcnow
from scripts.bootstrap import bootstrap, settings_or_exit
from worker.metrics import MetricsServer, ObservedSender, observed_job
from worker.tasks import Sender, delete_expired, deliver_message, sweep

PG_POOL_SIZE = 10


QUIET_CRON_JOBS = frozenset({"cron:sweep"})  # arq names a cron job "cron:<function name>"


class RoutineCronLines(logging.Filter):
    """Drops arq's INFO lines (job started "→", finished "←", retried) about the quiet cron
    jobs; keeps their warnings and errors (a failed or timed-out sweep) and all other jobs'."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(arg, str) and arg in QUIET_CRON_JOBS for arg in args)


def log_like_arq() -> None:
    """Under the ``arq`` command only arq's own logger has a handler, so our INFO lines
    (``latchkey.*``: the sweep's, cleanup's) would be lost: print them through arq's handler,
    in its format. Where logging is set up otherwise (tests, a root handler) change nothing."""
    ours, arq_handlers = logging.getLogger("latchkey"), logging.getLogger("arq").handlers
    if arq_handlers and not ours.handlers and not logging.getLogger().handlers:
        for handler in arq_handlers:
            ours.addHandler(handler)
        ours.setLevel(logging.INFO)


logging.getLogger("arq.worker").addFilter(RoutineCronLines())


async def startup(ctx: dict[str, Any]) -> None:
    """Build what jobs need through the bootstrap, reusing arq's Redis pool. Tests pre-fill
    ``settings`` and ``clock`` in ctx."""
    log_like_arq()  # here, not at import: the arq command sets up logging after the import
    settings = ctx.setdefault("settings", SETTINGS)
    clock = ctx.setdefault("clock", utcnow)
    ctx["container"] = await bootstrap(settings, clock=clock, redis=ctx["redis"],
                                       pool_size=PG_POOL_SIZE)
    ctx["sender"] = ObservedSender(Sender(settings))  # binds each message's request id
    if settings.worker_metrics_port:
        ctx["metrics"] = MetricsServer(clock)
        await ctx["metrics"].start(settings.worker_metrics_host, settings.worker_metrics_port)


async def shutdown(ctx: dict[str, Any]) -> None:
    if "metrics" in ctx:
        await ctx["metrics"].close()
    if "sender" in ctx:  # absent when stopped before startup finished
        await ctx["sender"].close()
    if "container" in ctx:
        await ctx["container"].close()


SETTINGS = settings_or_exit("worker")

FUNCTIONS = [
    # keep_result=0: a finished job leaves no result key, so the sweep may enqueue the same
    # message id again if its row is still pending.
    func(observed_job(deliver_message), name=DELIVER_MESSAGE, keep_result=0,
         max_tries=SETTINGS.delivery_max_tries),
]
CRON_JOBS = [
    cron(sweep, second={0, 10, 20, 30, 40, 50}, unique=True, timeout=60),
    # unique: with several workers, one of them runs a given tick (tests/fault case 9); its
    # counts stay an hour under arq:result:cron:delete_expired:<tick> for an operator to read
    cron(delete_expired, second=SETTINGS.cleanup_cron_second, unique=True, timeout=1800,
         minute=None if SETTINGS.cleanup_cron_minute < 0 else SETTINGS.cleanup_cron_minute,
         keep_result=3600),
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
