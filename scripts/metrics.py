"""Prometheus exposition shared by the web process (``/metrics``) and the worker's port.

Metrics live in prometheus-client's default registry. With ``PROMETHEUS_MULTIPROC_DIR`` set
(run uvicorn with several workers, the directory emptied before start) every process writes
its counters there and a scrape adds them up (prometheus-client's multiprocess mode); without
it each process reports its own. The outbox gauges are computed at scrape time with one query
(db/repositories/outbox_metrics.py), so they are right whichever process answers.

A ``PROMETHEUS_MULTIPROC_DIR`` that does not exist yet is created when this module is imported
(before api/observability.py and worker/metrics.py define their metrics): prometheus-client
would otherwise stop the process at start-up with a FileNotFoundError about a ``.db`` file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from db.repositories.outbox_metrics import unsent_summary

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
QUERY_TIMEOUT = 2.0  # seconds: a scrape during a database outage still answers

log = logging.getLogger("latchkey.metrics")


def prepare_multiprocess_dir() -> None:
    """Create the directory ``PROMETHEUS_MULTIPROC_DIR`` names, if set and missing."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)


prepare_multiprocess_dir()


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


class _Scrape:
    """One scrape: the registry's metrics plus families computed for it."""

    def __init__(self, base: CollectorRegistry, extra: Iterable[Metric]) -> None:
        self.base, self.extra = base, extra

    def collect(self) -> Iterator[Metric]:
        yield from self.base.collect()
        yield from self.extra


async def outbox_families(now: datetime) -> list[Metric]:
    """``latchkey_outbox_pending_messages`` (committed, not yet delivered) and
    ``latchkey_outbox_oldest_pending_age_seconds`` (0 when none) at ``now``; none at all
    when the database does not answer (alert on their absence)."""
    try:
        unsent, oldest = await asyncio.wait_for(unsent_summary(), QUERY_TIMEOUT)
    except Exception as exc:  # the other metrics are still worth a scrape
        log.warning("outbox metrics unavailable: %s", type(exc).__name__)
        return []
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return [
        GaugeMetricFamily("latchkey_outbox_pending_messages",
                          "Outbox messages committed and not yet delivered", value=unsent),
        GaugeMetricFamily("latchkey_outbox_oldest_pending_age_seconds",
                          "Seconds since the oldest undelivered outbox message was committed",
                          value=age),
    ]


async def exposition(now: datetime) -> bytes:
    """The text exposition format of every metric of this process (or of all processes in
    multiprocess mode) and the outbox gauges at ``now``."""
    extra = await outbox_families(now)
    return generate_latest(_Scrape(_registry(), extra))  # type: ignore[arg-type]
