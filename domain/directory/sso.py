"""Single sign-on through OpenID Connect (issue 14; API.md ``/v1/auth/sso/*``): start and
exchange. The callback is in ``sso_callback``, the account rules in ``linking``.

A sign-in is a row of ``sso_logins``: ``start`` stores the SHA-256 of a 256-bit ``state``
(``SSO_STATE_TTL`` s, single use); the ``nonce`` and the PKCE ``code_verifier`` are not
stored but derived from the state with HMAC-SHA256 under a key of their own (from
PASSWORD_PEPPER), so only whoever holds the state can complete the sign-in, and a database
read gives neither. The callback leaves a one-time code (``SSO_CODE_TTL`` s) the app
exchanges here for tokens: never tokens in a URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from db.repositories import memberships, sso_logins, users
from domain.accounts.emails import normalize_email
from domain.directory.errors import RedirectNotAllowed
from domain.directory.providers import find_provider
from domain.errors import (
    AccountDisabled,
    AuthorizationDenied,
    InvalidOneTimeToken,
    OneTimeTokenExpired,
    ValidationFailed,
)
from domain.names import AuthMethod, ContextType, MembershipStatus
from domain.records import ActiveContext
from domain.services import RequestInfo, Services
from domain.sessions.opening import TokenPair
from domain.settings import Settings
from domain.tokens import hash_token, new_opaque_token
from domain.two_factor.challenge import TwoFactorRequired, sign_in_or_challenge

MAX_REDIRECT = 2048  # sso_logins.redirect_to


def derived_secret(settings: Settings, state: str, label: str) -> str:
    """``nonce`` or PKCE ``code_verifier`` (label) of a sign-in: base64url of
    HMAC-SHA256(key, label NUL state), 43 characters, within RFC 7636 §4.1's 43-128."""
    key = hmac.new(settings.password_pepper.encode(), b"latchkey sso nonce and pkce",
                   "sha256").digest()
    digest = hmac.new(key, f"{label}\0{state}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def allowed_redirect(settings: Settings, redirect_to: str | None) -> str:
    """``redirectTo``, or the first of ``SSO_ALLOWED_REDIRECTS`` when not given. It must equal
    an allowed URL once its query is dropped (scheme, host, port and path exactly); a
    fragment, whitespace, control characters or a backslash are refused (an open redirect
    is a vulnerability: OWASP ASVS 5.1.5). raises RedirectNotAllowed."""
    if redirect_to is None:
        return settings.sso_redirects[0]
    if (len(redirect_to) > MAX_REDIRECT or "#" in redirect_to or "\\" in redirect_to
            or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in redirect_to)):
        raise RedirectNotAllowed()
    try:
        base = urlunsplit(urlsplit(redirect_to)._replace(query=""))
    except ValueError:
        raise RedirectNotAllowed() from None
    allowed = {urlunsplit(urlsplit(u)._replace(query="", fragment=""))
               for u in settings.sso_redirects}
    if base not in allowed:
        raise RedirectNotAllowed()
    return redirect_to


def with_code(redirect_to: str, code: str) -> str:
    """``redirect_to`` with ``code`` in its query (replacing any ``code`` it had)."""
    parts = urlsplit(redirect_to)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "code"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("code", code)])))


async def start_sso(svc: Services, *, organization_id: uuid.UUID | None, email: str | None,
                    redirect_to: str | None, info: RequestInfo) -> str:
    """Start a sign-in at the identity provider of the organization, or of the email's
    domain (else the deployment-wide one); returns the provider's authorization URL to
    redirect to (``state``, ``nonce``, PKCE S256, ``login_hint`` = email).

    Nothing is stored when anything fails. raises ValidationFailed (not exactly one of
    organization and email, a malformed email), RedirectNotAllowed, SsoNotConfigured,
    ProviderUnavailable (502: discovery failed)."""
    if (organization_id is None) == (email is None):
        raise ValidationFailed([("organization", "give either organization or email")])
    email = normalize_email(email) if email is not None else None
    target = allowed_redirect(svc.settings, redirect_to)
    provider = await find_provider(svc.settings, organization_id=organization_id, email=email)
    state = new_opaque_token()
    url = await svc.identity_providers.authorization_url(
        issuer=provider.issuer, client_id=provider.client_id,
        redirect_uri=svc.settings.sso_redirect_uri, state=state,
        nonce=derived_secret(svc.settings, state, "nonce"),
        code_verifier=derived_secret(svc.settings, state, "pkce"), login_hint=email)
    async with svc.unit_of_work(info) as uow:
        await sso_logins.insert(
            state_hash=hash_token(state), organization_id=provider.organization_id,
            redirect_to=target, now=uow.now,
            expires_at=uow.now + timedelta(seconds=svc.settings.sso_state_ttl),
            ip_address=info.ip_address, user_agent=info.user_agent)
    return url


async def exchange_sso_code(svc: Services, *, code: str, device_name: str | None,
                            info: RequestInfo) -> TokenPair | TwoFactorRequired:
    """Use up the callback's one-time code (single use, ``SSO_CODE_TTL`` s) and sign in:
    a web session with ``amr: ["fed"]`` (``["fed", "mfa"]`` when a trusted provider showed
    a second factor) in the organization's context, or TwoFactorRequired when the account
    has two-factor on and the provider's MFA does not count.

    raises InvalidOneTimeToken (unknown or used), OneTimeTokenExpired (used up anyway),
    AccountDisabled, AuthorizationDenied (no longer an active member)."""
    now = svc.clock()
    login = await sso_logins.use_code(hash_token(code), now)
    if login is None or login.user_id is None:
        raise InvalidOneTimeToken()
    if login.code_expires_at is None or login.code_expires_at <= now:
        raise OneTimeTokenExpired()
    user = await users.get_by_id(login.user_id)
    if user is None:
        raise InvalidOneTimeToken()
    if not user.is_active:
        raise AccountDisabled()
    context = None
    if login.organization_id is not None:
        membership = await memberships.get(login.organization_id, user.id)
        if membership is None or membership.status != MembershipStatus.ACTIVE:
            raise AuthorizationDenied("You are not an active member of this organization.")
        context = ActiveContext(ContextType.ORGANIZATION.value, login.organization_id,
                                membership.role)
    return await sign_in_or_challenge(
        svc, user, first_factor=AuthMethod.FEDERATED, info=info, device_name=device_name,
        context=context, proved_second=AuthMethod.MULTI_FACTOR if login.provider_mfa else None)
