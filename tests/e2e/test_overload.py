"""Overload on real processes (issue 16): the Procfile's web and worker with bcrypt at its real
default cost, sign-ins offered at 3x what the cores can hash. The server must shed the excess
with fast 503s, keep accepting at about the bcrypt ceiling, drop work for clients that left,
recover at once when the load stops, and exit promptly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from db.repositories import users
from db.tables import Session, User
from domain.passwords.hashing import PasswordHasher
from domain.settings import Settings
from scripts.benchmark.phases import bcrypt_ceiling
from scripts.benchmark.system import ROOT, procfile_command
from scripts.embedded_redis import free_port
from tests.environment import DATABASE_URL, REDIS_URL
from tests.processes import wait_for_system, wait_until

# The hashing queue, its 503s and the shutdown under load do not depend on the database
# engine: run once, in the SQLite pass, which keeps scripts/test under 15 minutes here.
pytestmark = pytest.mark.skipif(not DATABASE_URL.startswith("sqlite"),
                                reason="engine-independent; runs in the SQLite pass")
ROUNDS = Settings().bcrypt_rounds  # the default cost, which the processes use too
MAX_WAIT = Settings().hash_queue_max_wait
GRACE = Settings().shutdown_grace
CORES = os.cpu_count() or 2
PASSWORD = "overload test password, long enough"
PEPPER = "overload-test-pepper-" + uuid.uuid4().hex
LOAD_SECONDS = 30
SLACK = 1.5  # seconds for HTTP, the event loop and a shared machine on top of wait + hash
USERS = 32


@dataclass
class System:
    url: str
    web: subprocess.Popen[bytes]
    log: Path
    emails: list[str]
    ceiling: float  # bcrypt verifications/s on all cores, measured before the load

    @property
    def hash_seconds(self) -> float:
        return CORES / self.ceiling


@dataclass(frozen=True)
class Answer:
    started: float
    seconds: float
    status: int  # 0: no response (connection refused or reset)
    retry_after: str | None = None
    type: str | None = None


def start(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(["bash", "-c", f"exec {procfile_command(name)}"], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)




async def seed_users(prefix: str) -> list[str]:
    """USERS verified accounts sharing one cost-12 hash (one bcrypt run, not USERS)."""
    hasher = PasswordHasher(rounds=ROUNDS, pepper=PEPPER)
    password_hash = await hasher.hash(PASSWORD)
    hasher.close()
    now = datetime.now(UTC)
    emails = [f"{prefix}-{i}@example.com" for i in range(USERS)]
    for email in emails:
        await users.insert(email=email, password_hash=password_hash, name=None, now=now)
    await User.update({User.email_verified_at: now}).where(User.email.like(f"{prefix}-%"))
    return emails


@pytest.fixture(scope="module")
async def system(smtp, tmp_path_factory) -> AsyncIterator[System]:
    logs = tmp_path_factory.mktemp("overload")
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": REDIS_URL, "SMTP_PORT": str(smtp[1]), "PORT": str(free_port()),
           "APP_URL": "https://app.example.test", "PASSWORD_PEPPER": PEPPER,
           "RATE_LIMIT_SIGNIN": "100000/minute", "PYTHONUNBUFFERED": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for name in ("BCRYPT_ROUNDS", "HASH_CONCURRENCY", "HASH_QUEUE_MAX_WAIT", "SHUTDOWN_GRACE"):
        env.pop(name, None)  # the defaults, as a new operator runs it
    web = start("web", env, logs / "web.log")
    worker = start("worker", env, logs / "worker.log")
    url = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_for_system(url)
        emails = await seed_users(f"load-{uuid.uuid4().hex[:8]}")
        yield System(url, web, logs / "web.log", emails, bcrypt_ceiling(ROUNDS, 1.5))
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                proc.terminate()
        for proc in (web, worker):
            proc.wait(timeout=GRACE + 5)


async def sign_in(client: httpx.AsyncClient, email: str) -> Answer:
    started = time.monotonic()
    try:
        response = await client.post("/v1/auth/signin",
                                     json={"email": email, "password": PASSWORD})
    except httpx.TransportError:
        return Answer(started, time.monotonic() - started, 0)
    kind = response.json().get("type") if response.status_code != 200 else None
    return Answer(started, time.monotonic() - started, response.status_code,
                  response.headers.get("retry-after"), kind)


def client(url: str, timeout: float = 60) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=timeout,
                             limits=httpx.Limits(max_connections=None))


async def offer(system: System, rate: float, seconds: float,
                stop: asyncio.Event | None = None) -> list[Answer]:
    """Open loop: sign-in i is sent at i / rate s, whatever happened to the earlier ones."""
    async with client(system.url) as http:
        stopped = asyncio.create_task((stop or asyncio.Event()).wait())

        async def one(i: int) -> Answer | None:
            await asyncio.wait([stopped], timeout=i / rate)
            if stopped.done():
                return None
            return await sign_in(http, system.emails[i % len(system.emails)])

        done = await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
        stopped.cancel()
    return [a for a in done if a is not None]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (proc(5), /proc/<pid>/stat fields 14-15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_lines(system: System, pattern: str) -> list[str]:
    return [ln for ln in system.log.read_text().splitlines() if re.search(pattern, ln)]


async def test_a_client_that_left_while_queued_is_not_hashed(system):
    """Sign-ins that queue behind 3 x CORES others (3 hash times of work) and hang up after
    0.1 s are never hashed: a hashed one would have opened a session for its user."""
    running, waiting = system.emails[:CORES], system.emails[CORES:3 * CORES]
    left = system.emails[3 * CORES:3 * CORES + 4]
    async with client(system.url) as http:
        ahead = [asyncio.create_task(sign_in(http, e)) for e in [*running, *waiting]]
        await asyncio.sleep(0.03)

        async def hang_up(email: str) -> Answer:
            async with client(system.url, timeout=0.1) as impatient:
                return await sign_in(impatient, email)

        gone = await asyncio.gather(*(hang_up(e) for e in left))
        done = await asyncio.gather(*ahead)
        probe = await sign_in(http, system.emails[-1])  # FIFO: behind any that stayed queued
    assert all(a.status == 200 for a in done[:CORES])
    assert all(a.status in (200, 503) for a in done[CORES:])
    # a queue estimated too long on a busy machine refuses some at once (503) instead
    assert all(a.status in (0, 503) for a in gone) and any(a.status == 0 for a in gone), gone
    assert probe.status == 200
    assert not await Session.exists().where(Session.user_id.is_in(await user_ids(left)))
    assert await Session.exists().where(Session.user_id.is_in(await user_ids(running)))


async def user_ids(emails: list[str]) -> list[uuid.UUID]:
    return [r["id"] for r in await User.select(User.id).where(User.email.is_in(emails))]


def episodes_settled(system: System) -> bool:
    return (len(log_lines(system, "password hashing overloaded"))
            == len(log_lines(system, "overload ended")))


async def test_sign_ins_at_three_times_capacity_are_shed_fast_and_recover(system):
    wait_until(lambda: episodes_settled(system), "an earlier episode's end line", 10)
    episodes = len(log_lines(system, "password hashing overloaded"))
    rate = 3 * system.ceiling
    cpu_before, started = cpu_seconds(system.web.pid), time.monotonic()
    answers_ = await offer(system, rate, LOAD_SECONDS)
    web_cores = (cpu_seconds(system.web.pid) - cpu_before) / (time.monotonic() - started)
    # The machine is shared: measured again right after (the second the server is left
    # alone), the lower figure is what bcrypt could get around the run.
    ceiling = min(system.ceiling, bcrypt_ceiling(ROUNDS, 1.0))
    hash_seconds = CORES / ceiling
    span = max(a.started + a.seconds for a in answers_) - min(a.started for a in answers_)
    accepted = [a for a in answers_ if a.status == 200]
    refused = [a for a in answers_ if a.status != 200]
    summary = (f"ceiling {system.ceiling:.1f}/s before, {ceiling:.1f}/s counted; offered "
               f"{rate:.1f}/s; accepted {len(accepted) / span:.1f}/s; refused {len(refused)}; "
               f"slowest {max(a.seconds for a in answers_):.2f}s; web used {web_cores:.2f} cores")
    limit = MAX_WAIT + hash_seconds + SLACK
    assert all(a.seconds <= limit for a in answers_), summary
    for a in refused:  # 503 overloaded with Retry-After; a 429 would be a rate limit
        assert a.status in (503, 429) and a.retry_after and int(a.retry_after) >= 1, a
        assert a.status == 429 or a.type == "overloaded", a
    assert len(accepted) / span >= 0.7 * ceiling, summary
    assert refused, f"3x the ceiling was not refused at all: {summary}"

    async with client(system.url) as http:  # one second after the load (the measurement)
        after = await sign_in(http, system.emails[0])
    assert after.status == 200 and after.seconds < hash_seconds + 0.5, after

    # per episode one warning when shedding starts and one with the count when it ends, not
    # a line per refusal (a load hovering near capacity may make more than one episode)
    wait_until(lambda: episodes_settled(system), "the episode's end line", 10)
    ended = log_lines(system, r"overload ended: \d+ requests refused")[episodes:]
    counts = [int(re.search(r"ended: (\d+) requests", line)[1]) for line in ended]
    assert 1 <= len(ended) <= 5 and sum(counts) == len(refused), ended
    print(f"{summary}; episodes {counts}")


async def test_sigterm_under_load_exits_within_the_grace_period(system):
    stop = asyncio.Event()
    load = asyncio.create_task(offer(system, 3 * system.ceiling, 10, stop))
    await asyncio.sleep(1.5)  # the queue is full by then
    signalled = time.monotonic()
    system.web.send_signal(signal.SIGTERM)
    await asyncio.to_thread(system.web.wait, GRACE + 5)
    exited = time.monotonic() - signalled
    stop.set()
    answers_ = await load
    assert exited <= GRACE, f"exited {exited:.1f}s after SIGTERM"
    assert system.web.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises it when done
    # what it held was finished or refused, not dropped
    held = [a for a in answers_ if a.started < signalled - 0.2]
    assert held and all(a.status in (200, 503) for a in held), [a for a in held if a.status
                                                                  not in (200, 503)]
    assert any(a.status == 200 for a in held)
    print(f"exited {exited:.2f}s after SIGTERM; {len(held)} requests held, all answered")
