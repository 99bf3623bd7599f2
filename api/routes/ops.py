"""Operations endpoints: liveness, readiness."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.datastructures import State

from api.schemas import Health
from db.engine import ping

CHECK_TIMEOUT = 2.0  # seconds per dependency, so a hung backend cannot hang the probe


class OpsController(Controller):
    path = "/"
    tags = ["operations"]

    @get("/health")
    async def health(self) -> Health:
        """The process is up."""
        return Health("ok")

    @get("/ready")
    async def ready(self, state: State) -> Response[dict[str, object]]:
        """200 when the database and Redis answer, else 503 naming the ones that failed."""
        probes = {"database": ping, "redis": state.redis.ping}
        failed = []
        for name, probe in probes.items():
            try:
                await asyncio.wait_for(probe(), CHECK_TIMEOUT)
            except Exception:
                failed.append(name)
        if failed:
            return Response({"status": "unavailable", "failed": failed}, status_code=503)
        return Response({"status": "ok"})
