"""One function per figure of the bench table. Each returns {figure name: value}."""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bcrypt
import httpx

from scripts.benchmark import seed, wrk
from scripts.benchmark.system import ROOT, System
from scripts.mailbox import Mailbox

MESSAGE_ID = re.compile(rb"X-Latchkey-Message-Id: ([0-9a-f-]{36})")


class Sink(Mailbox):
    """The SMTP sink, recording only message id and accept time (cheap at 1,000s/s)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope) -> str:
        found = MESSAGE_ID.search(envelope.content)
        if found:
            self.accepted[found.group(1).decode()] = time.time()
        return "250 OK"

    async def wait(self, ids: list[str], within: float) -> float:
        """Seconds until every id was accepted; raises TimeoutError."""
        started = time.monotonic()
        while not all(i in self.accepted for i in ids):
            if time.monotonic() - started > within:
                missing = sum(i not in self.accepted for i in ids)
                raise TimeoutError(f"{missing} of {len(ids)} messages not delivered")
            await asyncio.sleep(0.005)
        return time.monotonic() - started


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def refresh(system: System, tokens: list[str], seconds: float) -> dict[str, object]:
    result = wrk.run(system.url, "refresh.lua", [_write(system.workdir / "refresh.txt", tokens),
                                                 "2"], connections=64, seconds=seconds)
    return {"refresh rotations/s": result.rate, "refresh p50 ms": result.p50_ms,
            "refresh p99 ms": result.p99_ms, "refresh failures": result.non2xx + result.lost}


def profile(system: System, access: list[str], seconds: float) -> dict[str, object]:
    path = _write(system.workdir / "access.txt", access)
    result = wrk.run(system.url, "rotate.lua", [path, "GET", "/v1/auth/profile"],
                     connections=64, seconds=seconds)
    return {"profile req/s": result.rate, "profile p50 ms": result.p50_ms,
            "profile p99 ms": result.p99_ms, "profile failures": result.non2xx}


def _signin_bodies(system: System, users: int) -> str:
    bodies = [f'{{"email":"bench-{i}@example.com","password":"{seed.PASSWORD}"}}'
              for i in range(users)]
    return _write(system.workdir / "signin.txt", bodies)


def bcrypt_ceiling(rounds: int, seconds: float) -> float:
    """bcrypt verifications/s with one thread per core, measured now (same run)."""
    hashed = bcrypt.hashpw(b"x" * 44, bcrypt.gensalt(rounds))
    deadline = time.monotonic() + seconds

    def spin() -> int:
        n = 0
        while time.monotonic() < deadline:
            bcrypt.checkpw(b"x" * 44, hashed)
            n += 1
        return n

    cores = os.cpu_count() or 2
    started = time.monotonic()
    with ThreadPoolExecutor(cores) as pool:
        total = sum(pool.map(lambda _: spin(), range(cores)))
    return total / (time.monotonic() - started)


SIGNIN_CONNECTIONS = 8  # enough to keep every bcrypt thread busy, within the hash queue's wait
RETRY_STORM_CONNECTIONS = 20  # more than the queue admits: the excess is refused and resent


def signins(system: System, users: int, seconds: float, ceiling: float) -> dict[str, object]:
    """``ceiling``: bcrypt_ceiling() measured earlier in this run, on the idle machine.

    Throughput at SIGNIN_CONNECTIONS, which the queue admits. Then the same at
    RETRY_STORM_CONNECTIONS: at the ceiling they would wait longer than HASH_QUEUE_MAX_WAIT, so
    the excess is refused with 503 and wrk resends it at once, ignoring Retry-After; sign-ins/s
    count 2xx only."""
    def run(connections: int) -> tuple[float, wrk.WrkResult]:
        result = wrk.run(system.url, "rotate.lua", [_signin_bodies(system, users), "POST",
                                                    "/v1/auth/signin"],
                         connections=connections, seconds=seconds)
        return (result.requests - result.non2xx) / max(result.seconds, 1e-9), result

    ok, result = run(SIGNIN_CONNECTIONS)
    storm_ok, storm = run(RETRY_STORM_CONNECTIONS)
    return {"sign-ins/s": ok, "bcrypt ceiling/s": ceiling,
            "sign-ins / ceiling": ok / ceiling, "sign-in p99 ms": result.p99_ms,
            "sign-in failures": result.non2xx,
            f"sign-in retry storm ({RETRY_STORM_CONNECTIONS} conns): sign-ins/s": storm_ok,
            f"sign-in retry storm ({RETRY_STORM_CONNECTIONS} conns): 503s/s":
                storm.non2xx / max(storm.seconds, 1e-9)}


def profile_during_signin_storm(system: System, users: int, access: list[str],
                                seconds: float) -> dict[str, object]:
    with wrk.Background(system.url, "rotate.lua",
                        [_signin_bodies(system, users), "POST", "/v1/auth/signin"],
                        connections=20) as storm:
        time.sleep(1)  # let the storm saturate bcrypt first
        result = wrk.run(system.url, "rotate.lua",
                         [str(system.workdir / "access.txt"), "GET", "/v1/auth/profile"],
                         connections=4, seconds=seconds, threads=1)
        storm.stop()
    return {"profile p99 ms during sign-in storm": result.p99_ms,
            "profile req/s during storm (4 conns)": result.rate}


async def registration_latency(system: System, sink: Sink, count: int, rate: float
                               ) -> dict[str, object]:
    """enqueue -> SMTP accepted: from the outbox row's timestamp (taken in the request just
    before its commit) to the sink accepting DATA, for ``count`` sign-ups at ``rate``/s."""
    from db.tables import OutboxMessage

    started = time.time()
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        async def one(i: int) -> int:
            await asyncio.sleep(i / rate)
            response = await client.post("/v1/auth/register", json={
                "email": f"latency-{i}-{started}@example.com", "password": seed.PASSWORD})
            return response.status_code

        codes = await asyncio.gather(*(one(i) for i in range(count)))
    rows = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.created_at).where(
        OutboxMessage.recipient.like(f"latency-%-{started}@example.com"))
    ids = [str(r["id"]) for r in rows]
    await sink.wait(ids, within=60)
    latencies = sorted((sink.accepted[str(r["id"])] - r["created_at"].timestamp()) * 1000
                       for r in rows)
    return {"enqueue->SMTP p50 ms": statistics.median(latencies),
            "enqueue->SMTP p99 ms": latencies[min(len(latencies) - 1, int(len(latencies) * .99))],
            "enqueue->SMTP max ms": latencies[-1],
            "registrations": f"{sum(c == 201 for c in codes)}/{count} at {rate:g}/s"}


async def email_throughput(system: System, sink: Sink, user_ids: list, count: int
                           ) -> dict[str, object]:
    from arq import create_pool
    from arq.connections import RedisSettings

    from db.redis.queue import enqueue_messages

    ids = await seed.seed_messages(user_ids, count)
    redis = await create_pool(RedisSettings.from_dsn(system.redis_url))
    started = time.monotonic()
    await enqueue_messages(redis, ids)
    await sink.wait([str(i) for i in ids], within=600)
    elapsed = time.monotonic() - started
    await redis.aclose()
    return {"emails/s (1 worker)": count / elapsed, "emails drained": count}


def cleanup(system: System, rows: int, seed_seconds: float, access_file: str,
            seconds: float) -> dict[str, object]:
    baseline = wrk.run(system.url, "rotate.lua", [access_file, "GET", "/v1/auth/profile"],
                       connections=4, seconds=seconds, threads=1)
    with wrk.Background(system.url, "rotate.lua", [access_file, "GET", "/v1/auth/profile"],
                        connections=4) as during:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "scripts.cleanup"], env=system.env,
                              cwd=ROOT, capture_output=True, text=True, check=True)
        elapsed = time.monotonic() - started
        loaded = during.stop()
    return {"expired rows seeded": rows, "seeding seconds": seed_seconds,
            "cleanup seconds": elapsed,
            "cleanup deleted": done.stdout.strip(),
            "profile p99 ms before cleanup (4 conns)": baseline.p99_ms,
            "profile p99 ms during cleanup (4 conns)": loaded.p99_ms,
            "p99 during / before": loaded.p99_ms / baseline.p99_ms if baseline.p99_ms else 0.0}
