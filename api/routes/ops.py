"""Operations endpoints: liveness, readiness."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from api.schemas import Health, Readiness
from db.engine import ping

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
        "`database` and/or `redis`.", generate_examples=False)})
    async def ready(self, state: State) -> Response[Readiness]:
        """200 when the database and Redis answer, else 503 naming the ones that failed."""
        probes = {"database": ping, "redis": state.redis.ping}
        failed = []
        for name, probe in probes.items():
            try:
                await asyncio.wait_for(probe(), CHECK_TIMEOUT)
            except Exception:
                failed.append(name)
        if failed:
            return Response(Readiness("unavailable", failed), status_code=503)
        return Response(Readiness("ok"))
