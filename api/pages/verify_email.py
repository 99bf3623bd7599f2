"""The verify-email page behind the link in the verification email (``APP_URL/verify-email``).

GET never uses the token (mail scanners prefetch links): it shows one button whose form
carries the token in a hidden field; the POST consumes it (``domain.accounts.verify_email``)
and shows the outcome at the bare path, so no URL the browser keeps afterwards has the token.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from msgspec import Struct

from api.deps import provide_services, request_info
from api.guards import rate_limit
from api.pages.rendering import outcome, render
from api.schemas import OpaqueToken
from domain import accounts
from domain.names import RateLimit
from domain.one_time_secrets import purposes
from domain.services import Services

PATH = purposes.VERIFY_EMAIL.link_path or "/verify-email"


class TokenForm(Struct):
    """The page's form (application/x-www-form-urlencoded; ``_csrf_token`` is read by the
    CSRF middleware and ignored here)."""

    token: OpaqueToken


class VerifyEmailPage(Controller):
    path = PATH
    dependencies = {"svc": Provide(provide_services)}

    @get(sync_to_thread=False)
    def show(self, token: str = "") -> Template:
        """The button; the token only goes into the form."""
        if not token:
            return outcome("This link is incomplete", "Open the link from your email again, "
                           "exactly as it was sent.", status=400, problem="invalid_token")
        return render("verify_email.html", token=token, action=PATH)

    @post(status_code=200, guards=[rate_limit(RateLimit.TOKEN)])
    async def submit(self, request: Request, svc: Services, data: Annotated[
            TokenForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
        """Consume the token; errors (invalid_token, token_expired, 429) become pages in
        rendering.page_error."""
        await accounts.verify_email(svc, token=data.token, info=request_info(request))
        return outcome("Your email address is verified",
                       "Thank you. You can now sign in to your account.")
