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
from api.pages.two_factor_step import METHODS
from api.schemas import OpaqueToken
from domain import errors as e
from domain.names import RateLimit
from domain.one_time_secrets import purposes
from domain.passwordless import verify_magic_link
from domain.services import Services
from domain.sessions.opening import TokenPair
from domain.two_factor import sms
from domain.two_factor.challenge import TwoFactorRequired, verify_challenge

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
        try:
            if data.send_sms:  # "Text me a code": the SMS limits apply (check_sms_allowed)
                masked = await sms.send_challenge_code(svc, token=token,
                                                       info=request_info(request))
                return code_form(token, methods, method="sms",
                                 notice=f"A sign-in code is on its way to {masked}.")
            if data.method not in METHODS or not data.code.strip():
                return code_form(token, methods, method=data.method, status=400,
                                 error="Choose where your code comes from and enter it.")
            pair = await verify_challenge(svc, token=token, method=data.method,
                                          code=data.code.strip(), info=request_info(request))
        except (e.InvalidCode, e.ValidationFailed) as exc:
            message = ("; ".join(m for _, m in exc.errors) if isinstance(exc, e.ValidationFailed)
                       else exc.detail).rstrip(".")
            return code_form(token, methods, method=data.method, status=400,
                             error=f"{message}. Try again.")
        except e.TooManyAttempts as exc:
            return outcome("Too many wrong codes", "This sign-in has ended. Open a new "
                           "sign-in link and try again.", status=429, problem=exc.code,
                           headers={"Retry-After": str(exc.retry_after)})
        except e.InvalidOneTimeToken as exc:  # the challenge expired or was used
            return outcome("This sign-in has ended", "It waited too long or was already "
                           "finished. Ask for a new sign-in link.", status=400,
                           problem=exc.code)
        return signed_in(pair)
