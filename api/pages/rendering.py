"""What every hosted page shares: the security headers, rendering, the HTML error pages, the
CSRF cookie and the stylesheet.

Headers (OWASP ASVS 14.4, 3.4): a strict CSP with no script source at all (the pages have no
JavaScript) and ``Cache-Control: no-store`` so no cache keeps a page holding a token; the
app-wide ones (api/security.py) add no framing and ``Referrer-Policy: no-referrer``, so the
token in the page's URL never leaves in a ``Referer``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from api.errors import EXCEPTION_HANDLERS, status_of
from domain import errors as e
from domain.settings import Settings

log = logging.getLogger("latchkey.pages")
HERE = Path(__file__).parent
STYLE_PATH = "/pages/style.css"
CSRF_COOKIE = "latchkey_csrf"

CSP = ("default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
# What only pages need; nosniff, no-referrer and DENY framing come with every response of the
# app (api/security.py).
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}


def render(template: str, *, status: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> Template:
    """An HTML page from ``templates/<template>`` with the page headers."""
    return Template(template_name=template, context=context, status_code=status,
                    media_type=MediaType.HTML,
                    headers={**PAGE_HEADERS, **(headers or {})})


def outcome(heading: str, message: str, *, status: int = 200, problem: str | None = None,
            headers: dict[str, str] | None = None) -> Template:
    """The page after a POST (or an error): a heading, a sentence and, for errors, the
    problem slug the JSON API would answer (``invalid_token``, ``token_expired`` ...)."""
    return render("outcome.html", status=status, headers=headers, heading=heading,
                  message=message, problem=problem)


def page_error(_: Request, exc: Exception) -> Template:
    """Any error under the pages' routes as an HTML page (never problem+json, never a token)."""
    if isinstance(exc, e.RateLimited):
        minutes = max(1, round(exc.retry_after / 60))
        return outcome("Too many attempts", "Too many attempts came from your network. Try "
                       f"again in about {minutes} minute{'s' if minutes > 1 else ''}.",
                       status=429, problem=exc.code,
                       headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, e.Overloaded):
        return outcome("Busy right now", exc.detail, status=503, problem=exc.code,
                       headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, e.InvalidOneTimeToken):
        return outcome("This link does not work", exc.detail, status=400, problem=exc.code)
    if isinstance(exc, e.DomainError):
        return outcome("Something is not right", exc.detail, status=status_of(exc),
                       problem=exc.code)
    if isinstance(exc, ValidationException):  # a form without its token, or a mangled one
        return outcome("This link is incomplete", "Open the link from your email again, "
                       "exactly as it was sent.", status=400, problem="malformed_body")
    if isinstance(exc, HTTPException) and exc.status_code == 403:  # the CSRF check failed
        return outcome("This form has expired", "Open the link from your email again and "
                       "send the form from that page.", status=403, problem="csrf_failed")
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return outcome("This request cannot be handled", str(exc.detail),
                       status=exc.status_code, problem="bad_request")
    log.exception("unhandled error on a hosted page", exc_info=exc)
    return outcome("Something went wrong", "Something went wrong on our side. Try again in "
                   "a moment.", status=500, problem="internal_error")


def page_error_handlers() -> dict[Any, Any]:
    """``page_error`` for every exception type the app maps, so none of the app's problem+json
    handlers wins on a page route (Litestar picks the most specific type of any layer)."""
    keys = {*EXCEPTION_HANDLERS, e.DomainError, ValidationException, HTTPException, Exception}
    return dict.fromkeys(keys, page_error)


def csrf_config(settings: Settings) -> CSRFConfig:
    """Double-submit cookie: HttpOnly, SameSite=Strict, Secure when APP_URL is https; its HMAC
    key is derived from JWT_SECRET under its own label (never the signing key itself)."""
    secret = hmac.new(settings.jwt_secret.encode(), b"latchkey hosted pages csrf",
                      hashlib.sha256).hexdigest()
    return CSRFConfig(secret=secret, cookie_name=CSRF_COOKIE, cookie_path="/",
                      cookie_secure=settings.app_url.startswith("https://"),
                      cookie_httponly=True, cookie_samesite="strict")


def template_config() -> TemplateConfig:
    """Jinja2 over ``templates/``: autoescaped, and a missing variable is an error."""
    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                              undefined=StrictUndefined)
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment))


STYLE = (HERE / "static" / "pages.css").read_bytes()


@get(STYLE_PATH, include_in_schema=False, sync_to_thread=False)
def stylesheet() -> Response[bytes]:
    """The pages' only stylesheet (CSP ``style-src 'self'``); public, no secret in it."""
    return Response(STYLE, media_type="text/css",
                    headers={"Cache-Control": "public, max-age=3600"})
