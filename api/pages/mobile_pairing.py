"""The mobile pairing page (``/mobile/pair``): sign in, then scan a QR code with the app.

A signed-out person signs in on the page (email and password through the same sign-in use
case, lockout and limits as ``POST /v1/auth/signin``; with two-factor on, a code step through
``verify_challenge``). The page enables nothing by itself: when the account has mobile
access off it says so, with a button to turn it on (the form carries the page session's
access token, POST only). Otherwise it creates a pairing token, shows its QR code, expiry
time and a countdown, and ends the session its sign-in opened in the same request: nothing
stays signed in in the browser. "New code" signs in again, and the new code replaces the one
on the page. Every answer is at the bare path (a POST): no URL holds a secret, and the
Referrer-Policy is no-referrer. The countdown is a small script from this page's own origin
(CSP ``script-src 'self'``); without it the page still gives the expiry time.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from msgspec import Meta, Struct

from api.deps import provide_services, request_info
from api.pages import two_factor_step
from api.pages.rendering import CSP, outcome, render
from api.schemas import OpaqueToken
from domain import errors as e
from domain.mobile import access, pairing
from domain.names import RateLimit
from domain.services import RequestInfo, Services
from domain.sessions.access import authenticate
from domain.sessions.opening import TokenPair
from domain.sessions.refresh import sign_out
from domain.sessions.signin import sign_in
from domain.tokens import AccessClaims
from domain.two_factor.challenge import TwoFactorRequired

PATH = "/mobile/pair"
SCRIPT_PATH = f"{PATH}/countdown.js"
DEVICE = "Mobile pairing page"  # the name the page's short sign-in has in the session list
# The QR page alone shows an image (a data: URL) and runs the countdown script.
QR_CSP = f"{CSP}; img-src data:; script-src 'self'"
FormText = Annotated[str, Meta(max_length=1024)]  # the use cases apply the real rules
Short = Annotated[str, Meta(max_length=64)]
AccessToken = Annotated[str, Meta(min_length=1, max_length=2048, pattern=r"^[A-Za-z0-9_.-]+$")]

COUNTDOWN_JS = b"""\
// Counts the pairing code's lifetime down. Without it the page still says when it expires.
(() => {
  "use strict";
  const timer = document.getElementById("countdown");
  if (!timer) return;
  const deadline = Date.now() + Number(timer.dataset.seconds) * 1000;
  let handle = null;
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    const seconds = String(left % 60).padStart(2, "0");
    timer.textContent = `${Math.floor(left / 60)}:${seconds} left`;
    if (left === 0) {
      clearInterval(handle);
      document.getElementById("qr").hidden = true;  // nobody scans a dead code
      document.getElementById("expired").hidden = false;  // aria-live: announced once
    }
  };
  handle = setInterval(tick, 1000);
  tick();
})();
"""


class PairForm(Struct):
    """Every form of the page (application/x-www-form-urlencoded): sign-in (``email``,
    ``password``), the code step (``two_factor_token``, ``methods`` to offer again,
    ``method``, ``code``), turning mobile access on (``access_token``); ``replaces``: the
    code a "New code" form replaces. ``_csrf_token`` is the CSRF middleware's."""

    email: FormText = ""
    password: FormText = ""
    two_factor_token: OpaqueToken | None = None
    methods: Short = ""
    method: Short = ""
    code: Short = ""
    send_sms: Short = ""  # "Text me a code"
    access_token: AccessToken | None = None
    replaces: OpaqueToken | None = None


def sign_in_form(*, email: str = "", replaces: str | None = None, error: str | None = None,
                 status: int = 200) -> Template:
    return render("mobile_pair.html", status=status, action=PATH, email=email,
                  replaces=replaces, error=error)


def code_form(token: str, methods: list[str], *, replaces: str | None, method: str = "",
              error: str | None = None, notice: str | None = None, status: int = 200
              ) -> Template:
    """The second-factor step of the page's sign-in ("Text me a code" for SMS); carries
    ``replaces`` along."""
    return two_factor_step.code_form(
        action=PATH, two_factor_token=token, methods=methods,
        intro="signing in; then the pairing code is shown", method=method, error=error,
        notice=notice, hidden={"replaces": replaces} if replaces else None, sms_button=True,
        status=status)


class MobilePairingPage(Controller):
    path = PATH
    dependencies = {"svc": Provide(provide_services)}

    @get(sync_to_thread=False)
    def show(self) -> Template:
        """The sign-in form."""
        return sign_in_form()

    @get("/countdown.js", sync_to_thread=False)
    def countdown(self) -> Response[bytes]:
        """The countdown script (public, no secret in it)."""
        return Response(COUNTDOWN_JS, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})

    @post(status_code=200)
    async def submit(self, request: Request, svc: Services, data: Annotated[
            PairForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
        """Sign-in, the code step or "turn mobile access on", told apart by their fields.
        Rate limits, overload and token errors become pages in rendering.page_error."""
        info = request_info(request)
        ip = info.ip_address or "unknown"
        if data.access_token:
            return await self._enable(svc, data.access_token, info)
        if data.two_factor_token:
            await svc.limit(RateLimit.TWO_FACTOR, ip)  # as POST /two-factor/challenge/verify
            return await self._second_factor(svc, data, data.two_factor_token, info)
        await svc.limit(RateLimit.SIGNIN, ip)  # one budget with POST /v1/auth/signin
        try:
            result = await sign_in(svc, email=data.email, password=data.password,
                                   device_name=DEVICE, info=info)
        except (e.InvalidCredentials, e.EmailNotVerified, e.AccountDisabled) as exc:
            status = 401 if isinstance(exc, e.InvalidCredentials) else 403
            return sign_in_form(email=data.email, replaces=data.replaces, error=exc.detail,
                                status=status)
        if isinstance(result, TwoFactorRequired):
            return code_form(result.token, result.methods, replaces=data.replaces)
        return await self._signed_in(svc, result, data.replaces, info)

    async def _second_factor(self, svc: Services, data: PairForm, token: str,
                             info: RequestInfo) -> Template:
        methods = data.methods.split()

        def form(**shown: object) -> Template:
            return code_form(token, methods, replaces=data.replaces,
                             **shown)  # type: ignore[arg-type]

        result = await two_factor_step.answer(
            svc, info, token=token, method=data.method, code=data.code,
            send_sms=bool(data.send_sms), form=form,
            start_over="Sign in again to pair a device.")
        if isinstance(result, Template):
            return result
        return await self._signed_in(svc, result, data.replaces, info)

    async def _signed_in(self, svc: Services, pair: TokenPair, replaces: str | None,
                         info: RequestInfo) -> Template:
        if not pair.user.mobile_enabled:  # the session lives on until the button is pressed
            return render("mobile_pair_disabled.html", action=PATH, email=pair.user.email,
                          access_token=pair.access_token,
                          days=svc.settings.mobile_session_ttl // 86400)
        claims = svc.access_tokens.decode(pair.access_token, now=svc.clock())
        return await self._code(svc, claims, pair.user.email, replaces, info)

    async def _enable(self, svc: Services, access_token: str, info: RequestInfo) -> Template:
        try:
            claims = await authenticate(svc, access_token)
        except e.Unauthenticated:  # 15 minutes passed, or the session was ended meanwhile
            return outcome("This page has expired", "Sign in again to pair a device.",
                           status=401, problem="unauthenticated")
        user = await access.enable(svc, claims, info)
        return await self._code(svc, claims, user.email, None, info)

    async def _code(self, svc: Services, claims: AccessClaims, email: str,
                    replaces: str | None, info: RequestInfo) -> Template:
        """Create the pairing token and end the page's session, whatever happens."""
        try:
            issued = await pairing.issue_pairing_token(svc, claims, info, replaces=replaces)
        except e.RateLimited as exc:
            minutes = max(1, round(exc.retry_after / 60))
            return outcome("Too many codes", "Several codes were made for your account in "
                           "the last few minutes. Try again in about "
                           f"{minutes} minute{'s' if minutes > 1 else ''}.",
                           status=429, problem=exc.code,
                           headers={"Retry-After": str(exc.retry_after)})
        finally:
            await sign_out(svc, refresh_token=None, access_claims=claims, info=info)
        seconds = max(0, int((issued.expires_at - svc.clock()).total_seconds()))
        return render("mobile_pair_code.html", headers={"Content-Security-Policy": QR_CSP},
                      action=PATH, email=email, qr_code=issued.qr_code, token=issued.token,
                      expires_at=issued.expires_at, seconds=seconds,
                      minutes=round(seconds / 60), left=f"{seconds // 60}:{seconds % 60:02d}",
                      script=SCRIPT_PATH)

