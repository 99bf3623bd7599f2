"""The OpenAPI document (``/schema``): a bearer scheme, problem+json error responses per
status, and Swagger UI served from the installed ``swagger-ui-py`` package (no CDN, works
offline)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Reference, SecurityScheme
from litestar.static_files import create_static_files_router
from msgspec import Struct

ASSETS = "/schema/assets"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]  # per-operation `security`

DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, a wrong type, a missing field or a broken rule; "
         "`errors` names each field as sent.",
    401: "No valid access token, or the credentials are wrong.",
    403: "Signed in but not allowed (e.g. `email_not_verified`).",
    404: "No such resource (or not yours).",
    409: "Conflicts with the current state (e.g. `email_taken`).",
    429: "Rate limited or too many attempts; `Retry-After` gives the seconds to wait, `limit` "
         "and `setting` name the limit and its variable.",
    503: "Overloaded: nothing was changed; retry after `Retry-After` seconds.",
}


class FieldError(Struct):
    field: str
    message: str


class Problem(Struct, omit_defaults=True):
    """RFC 9457 problem details, as every error of this API is sent."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    limit: str | None = None
    setting: str | None = None


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for these error statuses, each ``application/problem+json``."""
    return {status: ResponseSpec(data_container=Problem, media_type="application/problem+json",
                                 description=DESCRIPTIONS[status], generate_examples=False)
            for status in statuses}


def drop_bodies_of_no_content(app: Litestar) -> None:
    """on_startup hook: a 204 has no body (RFC 9110 §15.3.5), but Litestar documents the
    ``Response[None]`` of a handler that sets cookies as ``application/json``."""
    for path in (app.openapi_schema.paths or {}).values():
        for operation in (path.get, path.post, path.put, path.patch, path.delete):
            response = (operation.responses or {}).get("204") if operation else None
            if response is not None and not isinstance(response, Reference):
                response.content = None


def _swagger_static() -> Path:
    spec = importlib.util.find_spec("swagger_ui")  # located, not imported (it pulls in jinja2)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def openapi() -> tuple[OpenAPIConfig, Router]:
    """(the OpenAPI config, a router serving Swagger UI's files under ``/schema/assets``)."""
    config = OpenAPIConfig(
        title="latchkey", version="0.1.0", path="/schema", use_handler_docstrings=True,
        description="Accounts and authentication. Errors are RFC 9457 problem+json. "
                    "Authorize with an access token from `POST /v1/auth/signin`.",
        components=Components(security_schemes={"bearer": SecurityScheme(
            type="http", scheme="bearer", bearer_format="JWT",
            description="An access token (`accessToken` of a TokenPair), 15 minutes.")}),
        render_plugins=[SwaggerRenderPlugin(
            js_url=f"{ASSETS}/swagger-ui-bundle.js", css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon="<link rel='icon' href='data:,'>", path="/")],
    )
    assets: Any = create_static_files_router(path=ASSETS, directories=[_swagger_static()],
                                             include_in_schema=False)
    return config, assets
