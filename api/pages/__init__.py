"""Hosted pages behind the links in emails (verify email, reset password): small
server-rendered HTML without JavaScript, served when ``settings.serves_pages``.

A page is one Controller at its purpose's ``link_path`` (GET shows a form carrying the token,
POST runs the use case and renders the outcome) plus one template; add it to ``PAGES``.
"""

from __future__ import annotations

from litestar import Router
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from api.pages.magic_link import MagicLinkPage
from api.pages.mobile_pairing import MobilePairingPage
from api.pages.rendering import csrf_config, page_error_handlers, stylesheet, template_config
from api.pages.reset_password import ResetPasswordPage
from api.pages.verify_email import VerifyEmailPage
from domain.settings import Settings

PAGES = [VerifyEmailPage, ResetPasswordPage, MagicLinkPage, MobilePairingPage]


def build(settings: Settings) -> tuple[list[ControllerRouterHandler], TemplateConfig | None]:
    """(route handlers, TemplateConfig) for the hosted pages; ([], None) when they are off."""
    if not settings.serves_pages:
        return [], None
    pages = Router(
        path="/", route_handlers=PAGES, include_in_schema=False,
        # Double-submit cookie (Litestar's CSRFMiddleware) on these routes only: the JSON API
        # authenticates with bearer tokens and bodies, not cookies, and needs none.
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf_config(settings))],
        exception_handlers=page_error_handlers(),
    )
    return [pages, stylesheet], template_config()
