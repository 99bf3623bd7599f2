"""The reset-password page behind the link in the reset email (``APP_URL/reset-password``).

GET never uses the token: it shows the form (new password twice, the policy's rules written
out) carrying the token in a hidden field. The POST calls
``domain.passwords.recovery.reset_password``; a weak or mismatched password shows the form
again with the reason (the token is not used up then), anything else the outcome.
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
from api.guards import rate_limit
from api.pages.rendering import outcome, render
from api.schemas import OpaqueToken
from domain.errors import ValidationFailed
from domain.names import RateLimit
from domain.one_time_secrets import purposes
from domain.passwords import recovery
from domain.passwords.policy import MAX_PASSWORD_LENGTH
from domain.services import Services

PATH = purposes.RESET_PASSWORD.link_path or "/reset-password"
FormPassword = Annotated[str, Meta(max_length=1024)]  # the policy says the real limit


class ResetForm(Struct):
    token: OpaqueToken
    new_password: FormPassword = ""
    confirm_password: FormPassword = ""


def form(svc: Services, token: str, *, status: int = 200, **errors: str) -> Template:
    """The form; ``errors``: field name -> sentence shown under that field."""
    return render("reset_password.html", status=status, token=token, action=PATH,
                  errors=errors, min_length=svc.settings.password_min_length,
                  max_length=MAX_PASSWORD_LENGTH)


class ResetPasswordPage(Controller):
    path = PATH
    dependencies = {"svc": Provide(provide_services)}

    @get(sync_to_thread=False)
    def show(self, svc: Services, token: str = "") -> Template:
        if not token:
            return outcome("This link is incomplete", "Open the link from your email again, "
                           "exactly as it was sent.", status=400, problem="invalid_token")
        return form(svc, token)

    @post(status_code=200, guards=[rate_limit(RateLimit.TOKEN)])
    async def submit(self, request: Request, svc: Services, data: Annotated[
            ResetForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
        if data.new_password != data.confirm_password:
            return form(svc, data.token, status=400,
                        confirm_password="The two passwords do not match. Type the same "
                                         "new password in both fields.")
        try:
            await recovery.reset_password(svc, token=data.token,
                                          new_password=data.new_password,
                                          info=request_info(request))
        except ValidationFailed as exc:  # the policy's own sentence, e.g. "is too weak: ..."
            message = "; ".join(m for _, m in exc.errors)
            return form(svc, data.token, status=400,
                        new_password=f"The new password {message}")
        return outcome("Your password has been reset",
                       "Sign in with your new password. Every device that was signed in "
                       "has been signed out.")
