"""Which Redis and PostgreSQL a ``scripts/test`` run uses: never a developer's own data.

* Redis: ``TEST_REDIS_URL`` when given (CI gives ``redis://127.0.0.1:6379/9``), else none
  here and ``tests/environment.py`` starts a private redis-server. The tests flush their
  Redis database, so a Redis that merely answers on 6379 is never taken.
* PostgreSQL: ``TEST_DATABASE_URL`` when given (CI), else the server on 127.0.0.1:5432
  through its ``postgres`` database (present on every server). Either way the test run
  creates its own database there (``tests/environment.py``) and drops it afterwards, so the
  URL is first probed by creating and dropping a throwaway one. When the local server cannot
  (nothing listens, password authentication, no CREATEDB privilege) the PostgreSQL pass is
  skipped with one line; a given ``TEST_DATABASE_URL`` that cannot is an error.

CLI, for ``scripts/test``: ``python -m scripts.test_services redis`` prints the URL or
nothing (exit 1 with one line when ``TEST_REDIS_URL`` does not answer);
``python -m scripts.test_services postgres`` prints the server URL (exit 0), or the skip line
(exit 3), or one line on stderr (exit 1) when ``TEST_DATABASE_URL`` is unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from scripts import fresh_database
from scripts.embedded_redis import answers

LOCAL_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
SKIPPED = 3  # exit status of ``postgres`` when the pass is skipped
HOW_TO_RUN = ("set TEST_DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/postgres (a role that "
              "may create databases) to run it")


class Unusable(Exception):
    """An explicitly given URL cannot serve the tests; the message is one line."""


@dataclass(frozen=True)
class PostgresChoice:
    """``url``: the server URL the test run creates its database through, or None with
    ``skip``: the line saying why the PostgreSQL pass does not run."""

    url: str | None
    skip: str | None = None


def redacted(url: str) -> str:
    """``url`` without its password, for printing."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def redis_url(environ: Mapping[str, str]) -> str | None:
    """``TEST_REDIS_URL``, or None: the tests start their private server. raises Unusable
    when the given URL does not answer PING."""
    given = environ.get("TEST_REDIS_URL", "")
    if not given:
        return None
    parts = urlparse(given)
    if parts.scheme != "redis" or not answers(parts.hostname or "", parts.port or 6379):
        raise Unusable(f"TEST_REDIS_URL={redacted(given)}: no Redis answers there")
    return given


def probe(server_url: str) -> str | None:
    """None when a database can be created and dropped through ``server_url``, else why
    not, in one line (never a traceback)."""
    parts = urlparse(server_url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    try:
        created = fresh_database.create(server_url, "latchkey_probe")
        fresh_database.drop(created, server_url)
    except TimeoutError:
        return f"no PostgreSQL answer from {where} within {fresh_database.CONNECT_TIMEOUT:g} s"
    except ConnectionRefusedError:
        return f"nothing listens on {where}"
    except OSError as exc:  # unknown host, unreachable network
        return f"no PostgreSQL at {where} ({exc.strerror or exc})"
    except Exception as exc:  # asyncpg's errors: auth, missing role or database, privilege
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"PostgreSQL at {where} refused {redacted(server_url)}: {reason}"
    return None


def postgres(environ: Mapping[str, str], local: str = LOCAL_SERVER) -> PostgresChoice:
    """The PostgreSQL server the tests may use (see the module docstring). raises Unusable."""
    given = environ.get("TEST_DATABASE_URL", "")
    if given:
        if not given.startswith(("postgres://", "postgresql://")):
            raise Unusable(f"TEST_DATABASE_URL={redacted(given)} is not a postgres:// URL")
        problem = probe(given)
        if problem:
            raise Unusable(f"TEST_DATABASE_URL: {problem}")
        return PostgresChoice(given)
    problem = probe(local)
    if problem:
        return PostgresChoice(None, skip=f"skipped the PostgreSQL pass: {problem}; {HOW_TO_RUN}")
    return PostgresChoice(local)


def main() -> None:
    parser = argparse.ArgumentParser(description="the services a scripts/test run uses")
    parser.add_argument("service", choices=("redis", "postgres"))
    args = parser.parse_args()
    try:
        if args.service == "redis":
            print(redis_url(os.environ) or "")
            return
        choice = postgres(os.environ)
    except Unusable as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    print(choice.url or choice.skip)
    raise SystemExit(0 if choice.url else SKIPPED)


if __name__ == "__main__":
    main()
