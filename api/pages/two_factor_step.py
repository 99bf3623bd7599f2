"""The second-factor step shared by the hosted pages that sign a person in (magic link,
mobile pairing): one form asking for a TOTP, SMS or backup code, posting back to the page."""

from __future__ import annotations

from litestar.response import Template

from api.pages.rendering import render

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
