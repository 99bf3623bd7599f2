"""Operations endpoints: liveness, readiness."""

from __future__ import annotations

import asyncio
import time

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from api.schemas import Health, Readiness
from db.engine import ping
from db.redis import heartbeat

CHECK_TIMEOUT = 2.0  # seconds per dependency, so a hung backend cannot hang the probe


class OpsController(Controller):
    path = "/"
    tags = ["operations"]

    @get("/health")
    async def health(self) -> Health:
        """The process is up."""
        return Health("ok")

    @get("/ready", responses={503: ResponseSpec(
        data_container=Readiness, description="A dependency does not answer: `failed` names "
        "`database`, `redis` and/or `worker`.", generate_examples=False)})
    async def ready(self, state: State) -> Response[Readiness]:
        """200 when the database and Redis answer and a worker polled the queue within
        `WORKER_HEARTBEAT_MAX_AGE` seconds, else 503 naming the ones that failed."""
        max_age = state.services.settings.worker_heartbeat_max_age

        async def worker() -> None:
            beat = await heartbeat.newest(state.redis)
            if beat is None or time.time() - beat > max_age:
                raise LookupError("no worker heartbeat")

        probes = {"database": ping, "redis": state.redis.ping, "worker": worker}
        failed = []
        for name, probe in probes.items():
            if name == "worker" and "redis" in failed:
                continue  # heartbeats live in Redis: nothing to tell beyond "redis"
            try:
                await asyncio.wait_for(probe(), CHECK_TIMEOUT)
            except Exception:
                failed.append(name)
        if failed:
            return Response(Readiness("unavailable", failed), status_code=503)
        return Response(Readiness("ok"))
