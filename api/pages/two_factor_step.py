"""The second-factor step shared by the hosted pages that sign a person in (magic link,
mobile pairing): one form asking for a TOTP, SMS or backup code, posting back to the page."""

from __future__ import annotations

from typing import Protocol

from litestar.response import Template

from api.pages.rendering import outcome, render
from domain import errors as e
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair
from domain.two_factor import sms
from domain.two_factor.challenge import verify_challenge

# The methods a page can ask for, in the order offered (TOTP first: NIST SP 800-63B §5.1.3.3
# treats SMS as restricted), with the label a person reads.
METHODS = {"totp": "Code from your authenticator app",
           "sms": "Code we sent to your phone by text message",
           "backup": "One of your backup codes"}


def code_form(*, action: str, two_factor_token: str, methods: list[str], intro: str,
              method: str = "", error: str | None = None, notice: str | None = None,
              hidden: dict[str, str] | None = None, sms_button: bool = False,
              status: int = 200) -> Template:
    """The form. ``intro``: what finishing leads to; ``error``: shown under the code field;
    ``notice``: news above the form (an SMS was sent); ``hidden``: the page's own fields to
    carry along; ``sms_button``: offer "Text me a code" when SMS is among ``methods``."""
    offered = [m for m in METHODS if m in methods] or list(METHODS)
    return render("two_factor_step.html", status=status, action=action, intro=intro,
                  two_factor_token=two_factor_token, methods=offered, labels=METHODS,
                  method=method if method in offered else offered[0], error=error,
                  notice=notice, hidden=hidden or {}, sms_button=sms_button)


class StepForm(Protocol):
    """Renders the page's step again: ``form(method=, error=, notice=, status=)``."""

    def __call__(self, *, method: str = "", error: str | None = None,
                 notice: str | None = None, status: int = 200) -> Template: ...


async def answer(svc: Services, info: RequestInfo, *, token: str, method: str, code: str,
                 send_sms: bool, form: StepForm, start_over: str) -> TokenPair | Template:
    """Handle one post of the step: "Text me a code" (the SMS limits apply) or a code.
    Returns the TokenPair of the answered challenge, or the page to show instead: the form
    again (a wrong code, with the reason), or an outcome page when the challenge is over
    (too many wrong codes: 429; expired or used: 400). ``start_over``: the sentence telling
    how to begin again ("Ask for a new sign-in link.")."""
    try:
        if send_sms:
            masked = await sms.send_challenge_code(svc, token=token, info=info)
            return form(method="sms", notice=f"A sign-in code is on its way to {masked}.")
        if method not in METHODS or not code.strip():
            return form(method=method, status=400,
                        error="Choose where your code comes from and enter it.")
        return await verify_challenge(svc, token=token, method=method, code=code.strip(),
                                      info=info)
    except (e.InvalidCode, e.ValidationFailed) as exc:
        message = ("; ".join(m for _, m in exc.errors) if isinstance(exc, e.ValidationFailed)
                   else exc.detail).rstrip(".")
        return form(method=method, status=400, error=f"{message}. Try again.")
    except e.TooManyAttempts as exc:
        return outcome("Too many wrong codes", f"This sign-in has ended. {start_over}",
                       status=429, problem=exc.code,
                       headers={"Retry-After": str(exc.retry_after)})
    except e.InvalidOneTimeToken as exc:  # the challenge expired or was used
        return outcome("This sign-in has ended", "It waited too long or was already "
                       f"finished. {start_over}", status=400, problem=exc.code)
