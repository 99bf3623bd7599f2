"""The composition root: builds everything latchkey runs on from one ``Settings``.

The web app (``api/app.py``), the worker (``worker/settings.py``), every CLI command, the
tests and the bench call :func:`bootstrap` and may override parts (a test clock, a Redis
pool arq already opened). It is the one module the layers contract lets reach every layer
below the entry points (pyproject.toml, ``[tool.importlinter]``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from piccolo.engine.base import Engine

from db import engine
from db.redis.denylist import RedisSessionDenylist
from db.redis.limits import RedisRateLimiter
from db.redis.lockout import RedisLockout
from db.redis.queue import ArqDispatcher
from domain.clock import Clock, utcnow
from domain.directory.oidc import IdentityProviders
from domain.encryption import uses_dev_key
from domain.passwords.admission import HashAdmission
from domain.passwords.hashing import PasswordHasher
from domain.services import Services
from domain.settings import Settings, SettingsError
from domain.tokens import AccessTokenCodec

QUEUE_NAME = "arq:queue"


def settings_or_exit(process: str, *, secrets_required: bool = True) -> Settings:
    """``Settings.from_env()``, or exit with one readable line naming every problem."""
    try:
        settings = Settings.from_env(secrets_required=secrets_required)
    except SettingsError as exc:
        raise SystemExit(f"latchkey {process}: {exc}") from None
    if secrets_required and uses_dev_key(settings):  # only development/test get this far
        logging.getLogger("latchkey").warning(
            "latchkey %s: ENCRYPTION_KEY is not set; using the fixed development key "
            "(secrets at rest are not protected; never in production)", process)
    return settings


def bind_database(settings: Settings) -> Engine:
    """Bind the engine of ``settings.database_url`` to every table (no connection yet)."""
    return engine.bind(settings.database_url)


@dataclass(slots=True)
class Container:
    """What :func:`bootstrap` built. ``close()`` releases what it opened, and only that."""

    settings: Settings
    services: Services
    redis: ArqRedis
    _own_pool: bool
    _own_redis: bool

    async def close(self) -> None:
        self.services.hasher.close()
        await self.services.identity_providers.close()
        if self._own_redis:
            await self.redis.aclose()
        if self._own_pool:
            await engine.close_pool()


async def bootstrap(settings: Settings, *, clock: Clock = utcnow, redis: ArqRedis | None = None,
                    pool_size: int = 10, warm_up: bool = False) -> Container:
    """Build the database engine and pool, Redis and the arq pool, the password hasher, the
    access-token codec, rate limiter, lockout, deny-list, dispatcher and the OpenID Connect
    client of single sign-on.

    pool_size: PostgreSQL connections of this process. redis: an arq pool to reuse (the
    worker's own). warm_up: compute the dummy bcrypt hash now (web processes).
    raises the driver's error when Redis does not answer.
    """
    bind_database(settings)
    own_pool = await engine.open_pool(pool_size)
    own_redis = redis is None
    if redis is None:
        try:
            redis = await create_pool(RedisSettings.from_dsn(settings.redis_url), retry=0,
                                      default_queue_name=QUEUE_NAME)
        except BaseException:
            if own_pool:  # give back what was opened before the failure
                await engine.close_pool()
            raise
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper,
                            admission=HashAdmission(
                                concurrency=settings.hash_concurrency or os.cpu_count() or 2,
                                max_wait=settings.hash_queue_max_wait))
    if warm_up:
        await hasher.warm_up()
    services = Services(
        settings=settings, clock=clock, hasher=hasher,
        access_tokens=AccessTokenCodec(secret=settings.jwt_secret, issuer=settings.jwt_issuer,
                                       audience=settings.jwt_audience,
                                       ttl=settings.access_token_ttl),
        dispatch=ArqDispatcher(redis), denylist=RedisSessionDenylist(redis),
        rate_limiter=RedisRateLimiter(settings.redis_url),
        lockout=RedisLockout(redis, threshold=settings.lockout_threshold,
                             window=settings.lockout_window, duration=settings.lockout_duration),
        identity_providers=IdentityProviders(settings, clock),
    )
    return Container(settings=settings, services=services, redis=redis, _own_pool=own_pool,
                     _own_redis=own_redis)
