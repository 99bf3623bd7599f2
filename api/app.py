"""The Litestar application factory: ``uvicorn api.app:create_app --factory``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from arq.connections import RedisSettings
from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from api.errors import EXCEPTION_HANDLERS
from api.routes.account_security import PasswordController, SessionController
from api.routes.auth import AuthController
from api.routes.ops import OpsController
from db.denylist import RedisSessionDenylist
from db.engine import close_pool, open_pool
from db.limits import RedisLockout, RedisRateLimiter
from domain.clock import Clock, utcnow
from domain.passwords import PasswordHasher
from domain.services import Services
from domain.settings import Settings, SettingsError
from domain.tokens import AccessTokenCodec
from worker.queue import ArqDispatcher

PG_POOL_SIZE = 20  # connections per web process


def create_app(settings: Settings | None = None, clock: Clock = utcnow) -> Litestar:
    """Build the app. ``settings`` default: read from the environment (exits with a clear
    message when they are unusable); ``clock``: injectable for tests."""
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise SystemExit(f"latchkey: {exc}") from None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_pool = await open_pool(PG_POOL_SIZE)
        redis = await create_pool(RedisSettings.from_dsn(settings.redis_url),
                                  retry=0, default_queue_name="arq:queue")
        hasher = PasswordHasher(rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
        await hasher.warm_up()
        app.state.redis = redis
        app.state.services = Services(
            settings=settings, clock=clock, hasher=hasher,
            access_tokens=AccessTokenCodec(secret=settings.jwt_secret,
                                           issuer=settings.jwt_issuer,
                                           audience=settings.jwt_audience,
                                           ttl=settings.access_token_ttl),
            dispatch=ArqDispatcher(redis), denylist=RedisSessionDenylist(redis),
            rate_limiter=RedisRateLimiter(settings.redis_url),
            lockout=RedisLockout(redis, threshold=settings.lockout_threshold,
                                 window=settings.lockout_window,
                                 duration=settings.lockout_duration),
        )
        try:
            yield
        finally:
            hasher.close()
            await redis.aclose()
            if own_pool:
                await close_pool()

    return Litestar(
        route_handlers=[AuthController, PasswordController, SessionController, OpsController],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="latchkey", version="0.1.0", path="/schema"),
        debug=False,
    )
