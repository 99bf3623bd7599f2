"""The Litestar application factory: ``uvicorn api.app:create_app --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig

from api import pages, scim
from api.errors import EXCEPTION_HANDLERS
from api.middleware import MIDDLEWARE
from api.observability import Observed, metrics, observe
from api.openapi import drop_bodies_of_no_content, openapi
from api.routes import ROUTES
from api.security import json_only, security_headers
from domain.clock import Clock, utcnow
from domain.settings import Settings
from scripts.bootstrap import bootstrap, settings_or_exit
from scripts.logs import configure_from_env

PG_POOL_SIZE = 20  # connections per web process


def create_app(settings: Settings | None = None, clock: Clock = utcnow) -> Litestar:
    """Build the app. ``settings`` default: read from the environment (exits with a clear
    message when they are unusable), and then logging is set up too (scripts/logs.py; given
    settings leave logging to the caller); ``clock``: injectable for tests."""
    own_logging: dict[str, Any] = {}
    if settings is None:
        configure_from_env()
        settings = settings_or_exit("web")
        own_logging["logging_config"] = None  # Litestar's default would restyle the root logger

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        container = await bootstrap(settings, clock=clock, pool_size=PG_POOL_SIZE,
                                    warm_up=True)
        app.state.redis = container.redis
        app.state.services = container.services
        observe(app, container.services)  # counts rate-limit refusals, lockouts, overload
        try:
            yield
        finally:
            await container.close()

    page_routes, template_config = pages.build(settings)
    openapi_config, openapi_assets = openapi()
    cors = None
    if settings.cors_origin_list:  # exact origins only: credentials never go to a wildcard
        cors = CORSConfig(allow_origins=settings.cors_origin_list, allow_credentials=True,
                          allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                          allow_headers=["authorization", "content-type"],
                          expose_headers=["retry-after", "x-request-id"], max_age=600)
    app = Litestar(
        route_handlers=[*ROUTES, scim.router(settings), *page_routes, openapi_assets, metrics],
        template_config=template_config,
        middleware=[json_only, *MIDDLEWARE],
        before_send=[security_headers(settings)],
        cors_config=cors,
        lifespan=[lifespan],
        on_startup=[drop_bodies_of_no_content],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config,
        debug=False,
        **own_logging,
    )
    app.asgi_handler = Observed(app.asgi_handler)  # request id + HTTP metrics, outermost
    return app
