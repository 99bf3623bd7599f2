"""The overload figure (issue 16): sign-ins offered at 3x the bcrypt ceiling, open loop."""

from __future__ import annotations

import asyncio
import time

import httpx

from scripts.benchmark import seed
from scripts.benchmark.system import System

OVERLOAD_MAX_RATE = 150.0  # sign-ins/s one Python client offers reliably (dry runs: cost 4)
PROFILE_RATE = 20.0  # profile reads/s meanwhile, about the mix (40 % of 40 req/s)


async def overload(system: System, users: int, access: list[str], seconds: float,
                   ceiling: float) -> dict[str, object]:
    """Sign-ins offered at 3x ``ceiling`` (capped at OVERLOAD_MAX_RATE) for ``seconds``, and
    profile reads at PROFILE_RATE meanwhile. Open loop, unlike wrk: each request is sent on
    its schedule whatever happened to earlier ones, as real clients arrive; and paced reads,
    because a closed-loop reader would take cores from bcrypt as fast as it is served."""
    rate = min(3 * ceiling, OVERLOAD_MAX_RATE)
    signins: list[tuple[int, float, float]] = []  # (status, sent at, seconds)
    reads: list[tuple[int, float, float]] = []
    async with httpx.AsyncClient(base_url=system.url, timeout=60,
                                 limits=httpx.Limits(max_connections=None)) as client:
        async def one(i: int, at: float, into: list[tuple[int, float, float]],
                      send) -> None:
            await asyncio.sleep(at)
            sent = time.monotonic()
            try:
                status = (await send(i)).status_code
            except httpx.HTTPError:
                status = 0
            into.append((status, sent, time.monotonic() - sent))

        def signin(i: int):
            return client.post("/v1/auth/signin", json={
                "email": f"bench-{i % users}@example.com", "password": seed.PASSWORD})

        def read(i: int):
            return client.get("/v1/auth/profile",
                              headers={"authorization": f"Bearer {access[i % len(access)]}"})

        await asyncio.gather(
            *(one(i, i / rate, signins, signin) for i in range(max(1, int(rate * seconds)))),
            *(one(i, i / PROFILE_RATE, reads, read) for i in range(int(PROFILE_RATE * seconds))))
    span = max(t + d for _, t, d in signins) - min(t for _, t, _ in signins)
    accepted = sorted(d for status, _, d in signins if status == 200)
    refused = [d for status, _, d in signins if status == 503]
    return {"overload: sign-ins offered/s (3x ceiling)": rate,
            "overload: accepted sign-ins/s": len(accepted) / span,
            "overload: accepted / ceiling": len(accepted) / span / ceiling,
            "overload: accepted p99 ms": _p99(accepted) * 1000,
            "overload: refused (503)": len(refused),
            "overload: refusals answered <= 100 ms": (
                sum(d <= 0.1 for d in refused) / len(refused) if refused else 1.0),
            "overload: other answers": len(signins) - len(accepted) - len(refused),
            f"overload: profile p99 ms ({PROFILE_RATE:g}/s)": _p99(
                sorted(d for _, _, d in reads)) * 1000,
            "overload: profile failures": sum(status != 200 for status, _, _ in reads)}


def _p99(values: list[float]) -> float:
    """The 99th percentile of sorted ``values`` (nearest rank), 0 when empty."""
    return values[min(len(values) - 1, int(len(values) * .99))] if values else 0.0
