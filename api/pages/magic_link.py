"""The magic-link landing page behind the link in the sign-in email (``APP_URL/auth/magic``).

GET never uses the token (mail scanners prefetch links): it shows a "Sign in" button whose
form carries the token in a hidden field. The POST uses it
(``domain.passwordless.verify_magic_link``) and shows who is signed in: the session is opened
(it is listed among the account's sessions) but the page hands no token to the browser; an
app that wants the tokens handles ``/auth/magic`` itself and calls
``POST /v1/auth/magic-link/verify``. When the account has
two-factor on, the POST shows a code form that posts back here with the challenge token in a
hidden field (``domain.two_factor.challenge.verify_challenge``); with SMS two-factor its
second button has the code texted (``domain.two_factor.sms.send_challenge_code``). Every
answer is at the bare path, so no URL the browser keeps afterwards holds a token.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from msgspec import Meta, Struct

from api.deps import provide_services, request_info
from api.pages import two_factor_step
from api.pages.rendering import outcome, render
from api.schemas import OpaqueToken
from domain.names import RateLimit
from domain.one_time_secrets import purposes
from domain.passwordless import verify_magic_link
from domain.services import Services
from domain.sessions.opening import TokenPair
from domain.two_factor.challenge import TwoFactorRequired

PATH = purposes.MAGIC_LINK.link_path or "/auth/magic"
# What the code form offers, in the order the challenge lists them (strongest first).
Short = Annotated[str, Meta(max_length=64)]


class MagicForm(Struct):
    """Both forms of the page (application/x-www-form-urlencoded): the button posts
    ``token``; the code form posts ``two_factor_token``, ``methods`` (what to offer again
    after a wrong code) and ``method`` + ``code``, or ``send_sms`` (its second button).
    ``_csrf_token`` is read by the CSRF middleware and ignored here."""

    token: OpaqueToken | None = None
    two_factor_token: OpaqueToken | None = None
    methods: Short = ""
    method: Short = ""
    code: Short = ""
    send_sms: Short = ""  # the "Text me a code" button


def incomplete() -> Template:
    return outcome("This link is incomplete", "Open the link from your email again, exactly "
                   "as it was sent.", status=400, problem="invalid_token")


def signed_in(pair: TokenPair) -> Template:
    return render("magic_link_signed_in.html", email=pair.user.email)


def code_form(two_factor_token: str, methods: list[str], *, method: str = "",
              error: str | None = None, notice: str | None = None, status: int = 200
              ) -> Template:
    """The second-factor step of a page sign-in, with "Text me a code" for SMS."""
    return two_factor_step.code_form(
        action=PATH, two_factor_token=two_factor_token, methods=methods, intro="signing in",
        method=method, error=error, notice=notice, sms_button=True, status=status)


class MagicLinkPage(Controller):
    path = PATH
    dependencies = {"svc": Provide(provide_services)}

    @get(sync_to_thread=False)
    def show(self, token: str = "") -> Template:
        """The "Sign in" button; the token only goes into the form."""
        if not token:
            return incomplete()
        return render("magic_link.html", token=token, action=PATH)

    @post(status_code=200)
    async def submit(self, request: Request, svc: Services, data: Annotated[
            MagicForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
        """The button (``token``) or the code form (``two_factor_token``). Errors
        (invalid_token, token_expired, 429) become pages in rendering.page_error."""
        ip = request.client.host if request.client else "unknown"
        if data.two_factor_token:
            await svc.limit(RateLimit.TWO_FACTOR, ip)  # as POST /two-factor/challenge/verify
            return await self._second_factor(request, svc, data, data.two_factor_token)
        if not data.token:
            return incomplete()
        await svc.limit(RateLimit.TOKEN, ip)  # one budget with the JSON API's token routes
        result = await verify_magic_link(svc, token=data.token, info=request_info(request))
        if isinstance(result, TwoFactorRequired):
            return code_form(result.token, result.methods)
        return signed_in(result)

    async def _second_factor(self, request: Request, svc: Services, data: MagicForm,
                             token: str) -> Template:
        methods = data.methods.split()

        def form(**shown: object) -> Template:
            return code_form(token, methods, **shown)  # type: ignore[arg-type]

        result = await two_factor_step.answer(
            svc, request_info(request), token=token, method=data.method, code=data.code,
            send_sms=bool(data.send_sms), form=form,
            start_over="Open a new sign-in link and try again.")
        return result if isinstance(result, Template) else signed_in(result)
