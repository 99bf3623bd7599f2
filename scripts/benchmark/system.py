"""Start latchkey the way the Procfile does, on a fresh database, for one bench run."""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts import fresh_database
from scripts.embedded_redis import EmbeddedRedis, answers, free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


def choose_database(workdir: Path) -> tuple[str, str | None]:
    """(DATABASE_URL, admin URL to drop it with): a fresh PostgreSQL database on the server
    of BENCH_DATABASE_URL (postgres://...) or on a local server, else a fresh SQLite file.
    ``BENCH_DATABASE_URL=sqlite`` forces SQLite."""
    base = os.environ.get("BENCH_DATABASE_URL") or ""
    if base == "sqlite":
        return f"sqlite:///{workdir}/bench.sqlite3", None
    if not base and answers_tcp("127.0.0.1", 5432):
        base = LOCAL_POSTGRES
    if base.startswith(("postgres://", "postgresql://")):
        return fresh_database.create(base, "latchkey_bench"), base
    return f"sqlite:///{workdir}/bench.sqlite3", None


def answers_tcp(host: str, port: int) -> bool:
    import socket

    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


@dataclass
class System:
    """The web (2 uvicorn workers) and worker processes plus their Redis and SMTP sink."""

    database_url: str
    smtp_port: int
    bcrypt_rounds: int
    workdir: Path
    web_workers: int = 2
    redis_url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _redis: EmbeddedRedis | None = None
    _db: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    def start(self) -> System:
        db = claim_redis_db() if answers("127.0.0.1", 6379) else None
        if db is not None:
            self.redis_url, self._db = f"redis://127.0.0.1:6379/{db}", db
        else:
            self._redis = EmbeddedRedis().start()
            self.redis_url = self._redis.url
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        self.env = {**os.environ, "ENVIRONMENT": "production", "DATABASE_URL": self.database_url,
                    "REDIS_URL": self.redis_url, "SMTP_PORT": str(self.smtp_port),
                    "BCRYPT_ROUNDS": str(self.bcrypt_rounds), "PORT": str(free_port()),
                    "JWT_SECRET": secrets.token_urlsafe(48),
                    "PASSWORD_PEPPER": secrets.token_urlsafe(48),
                    "ENCRYPTION_KEY": secrets.token_urlsafe(32),  # a Fernet key: 32 bytes
                    "WEB_CONCURRENCY": str(self.web_workers), "PYTHONUNBUFFERED": "1",
                    # all load comes from one IP: limits stay on (their cost is measured) but
                    # out of reach
                    **{f"RATE_LIMIT_{name}": "100000000/minute" for name in (
                        "REGISTER", "SIGNIN", "REFRESH", "PASSWORD_FORGOT", "TOKEN",
                        "VERIFY_EMAIL_RESEND")},
                    "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        subprocess.run(shlex.split(procfile_command("release")), env=self.env, check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
        logs = self.workdir
        for name in ("web", "worker"):
            with open(logs / f"{name}.log", "wb") as log:  # the child keeps its own copy
                self.procs[name] = subprocess.Popen(
                    ["bash", "-c", f"exec {procfile_command(name)}"], env=self.env, cwd=ROOT,
                    stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not self._ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"system not ready; see {logs}/web.log and worker.log")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def peak_rss_mb(self) -> dict[str, float]:
        """VmHWM (peak resident set) of each web worker and the arq worker, in MB."""
        found: dict[str, float] = {}
        web = self.procs["web"].pid
        children = Path(f"/proc/{web}/task/{web}/children").read_text().split()
        workers = [p for p in children  # not multiprocessing's resource tracker
                   if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        found["web supervisor"] = _vm_hwm(web)
        for i, pid in enumerate(workers):
            found[f"web worker {i + 1}"] = _vm_hwm(int(pid))
        found["arq worker"] = _vm_hwm(self.procs["worker"].pid)
        return found

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._redis:
            self._redis.stop()
        if self._db is not None:
            release_redis_db(self._db)


# Benches running at once (each test run's harness test starts one) must not share a Redis
# database: each flushes it and one's arq worker would take the other's jobs. A run claims one
# of these databases of the system Redis with a lock key kept in LOCK_DB (released by stop(),
# expiring after an hour if the run dies); with none free it starts a private Redis.
BENCH_DBS, LOCK_DB = range(8, 15), 15


def claim_redis_db() -> int | None:
    import redis

    locks = redis.Redis.from_url(f"redis://127.0.0.1:6379/{LOCK_DB}")
    try:
        return next((db for db in BENCH_DBS
                     if locks.set(f"latchkey:bench-db:{db}", os.getpid(), nx=True, ex=3600)),
                    None)
    finally:
        locks.close()


def release_redis_db(db: int) -> None:
    import redis

    locks = redis.Redis.from_url(f"redis://127.0.0.1:6379/{LOCK_DB}")
    locks.delete(f"latchkey:bench-db:{db}")
    locks.close()


def _vm_hwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def drop_database(database_url: str, admin_url: str | None) -> None:
    if admin_url:
        fresh_database.drop(database_url, admin_url)
