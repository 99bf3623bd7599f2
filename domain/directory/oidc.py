"""The OpenID Connect client (Authorization Code flow with PKCE) on authlib and httpx.

Discovery documents (OIDC Discovery §4) and JWKS are cached per issuer for
``OIDC_METADATA_TTL`` s; an ID token whose ``kid`` the cached JWKS lacks makes one fetch of
the JWKS (the provider rotated its keys), at most once per ``REFETCH_INTERVAL`` s per issuer
so a flood of forged tokens cannot make latchkey hammer the provider. Every call has a
deadline of ``OIDC_HTTP_TIMEOUT`` s as a whole: a provider that is down or hangs gives
ProviderUnavailable (502), never a hang. No database transaction is open during these calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from domain.clock import Clock
from domain.directory.errors import InvalidSignature, ProviderError, ProviderUnavailable
from domain.directory.id_tokens import IdTokenClaims, UnknownKey, check_claims, verify
from domain.settings import Settings

log = logging.getLogger("latchkey.sso")

REFETCH_INTERVAL = 30  # seconds between two JWKS fetches caused by an unknown kid
MAX_BODY = 512 * 1024  # bytes read of a provider's answer at most
SCOPE = "openid email profile"
_NEEDED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(slots=True)
class _Cached:
    value: dict[str, Any]
    fetched_at: datetime


class IdentityProviders:
    """Talks to identity providers. One per process (``Services.identity_providers``);
    ``close()`` releases its HTTP connections."""

    def __init__(self, settings: Settings, clock: Clock,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._http = httpx.AsyncClient(timeout=settings.oidc_http_timeout, transport=transport,
                                       follow_redirects=False,
                                       headers={"accept": "application/json"})
        self._metadata: dict[str, _Cached] = {}
        self._jwks: dict[str, _Cached] = {}
        self._refetched: dict[str, datetime] = {}

    async def close(self) -> None:
        await self._http.aclose()

    async def authorization_url(self, *, issuer: str, client_id: str, redirect_uri: str,
                                state: str, nonce: str, code_verifier: str,
                                login_hint: str | None = None) -> str:
        """The provider's authorization endpoint with ``response_type=code``, scope
        ``openid email profile``, ``state``, ``nonce`` and ``code_challenge`` = S256 of
        ``code_verifier`` (RFC 7636 §4.2). raises ProviderUnavailable (discovery failed)."""
        metadata = await self.metadata(issuer)
        extra = {"nonce": nonce, "code_challenge": create_s256_code_challenge(code_verifier),
                 "code_challenge_method": "S256"}
        if login_hint:
            extra["login_hint"] = login_hint  # OIDC Core §3.1.2.1: fills the provider's form
        return str(prepare_grant_uri(metadata["authorization_endpoint"], client_id, "code",
                                     redirect_uri=redirect_uri, scope=SCOPE, state=state,
                                     **extra))

    async def sign_in(self, *, issuer: str, client_id: str, client_secret: str, code: str,
                      redirect_uri: str, code_verifier: str, nonce: str) -> IdTokenClaims:
        """Exchange ``code`` (with the PKCE ``code_verifier``) at the token endpoint and
        return the claims of its valid ID token. raises ProviderError (an OAuth error answer,
        RFC 6749 §5.2, or no ID token), ProviderUnavailable, and the ID token errors of
        ``domain.directory.id_tokens``."""
        metadata = await self.metadata(issuer)
        tokens = await self._token_request(metadata, client_id, client_secret, code,
                                           redirect_uri, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderError("The identity provider sent no ID token.")
        token = await self._verified(issuer, metadata["jwks_uri"], id_token)
        access = tokens.get("access_token")
        return check_claims(token, issuer=issuer, client_id=client_id, nonce=nonce,
                            now=int(self._clock().timestamp()),
                            access_token=access if isinstance(access, str) else None)

    async def metadata(self, issuer: str) -> dict[str, Any]:
        """The issuer's discovery document (cached). Its ``issuer`` must be ``issuer`` exactly
        (OIDC Discovery §4.3). raises ProviderUnavailable."""
        cached = self._metadata.get(issuer)
        if cached is not None and self._fresh(cached):
            return cached.value
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url, issuer)
        if document.get("issuer") != issuer or not all(
                isinstance(document.get(k), str) for k in _NEEDED):
            log.warning("identity provider %s: its discovery document names another issuer "
                        "or lacks an endpoint", issuer)
            raise ProviderUnavailable()
        self._metadata[issuer] = _Cached(document, self._clock())
        return document

    async def _verified(self, issuer: str, jwks_uri: str, id_token: str) -> Any:
        algorithms = self._settings.id_token_algorithms
        cached = self._jwks.get(issuer)
        if cached is None or not self._fresh(cached):
            cached = await self._fetch_jwks(issuer, jwks_uri)
        try:
            return verify(id_token, cached.value, algorithms=algorithms)
        except UnknownKey:
            last = self._refetched.get(issuer)
            if last is not None and (self._clock() - last).total_seconds() < REFETCH_INTERVAL:
                raise InvalidSignature() from None
            self._refetched[issuer] = self._clock()
            cached = await self._fetch_jwks(issuer, jwks_uri)
        try:
            return verify(id_token, cached.value, algorithms=algorithms)
        except UnknownKey:
            raise InvalidSignature() from None

    async def _fetch_jwks(self, issuer: str, jwks_uri: str) -> _Cached:
        keys = await self._get_json(jwks_uri, issuer)
        if not isinstance(keys.get("keys"), list):
            raise ProviderUnavailable()
        self._jwks[issuer] = cached = _Cached(keys, self._clock())
        return cached

    def _fresh(self, cached: _Cached) -> bool:
        age = (self._clock() - cached.fetched_at).total_seconds()
        return 0 <= age < self._settings.oidc_metadata_ttl

    async def _token_request(self, metadata: dict[str, Any], client_id: str,
                             client_secret: str, code: str, redirect_uri: str,
                             code_verifier: str) -> dict[str, Any]:
        methods = metadata.get("token_endpoint_auth_methods_supported") or []
        # client_secret_basic is the default (OIDC Discovery §3); post only when it is all
        method = ("client_secret_post" if methods and "client_secret_basic" not in methods
                  else "client_secret_basic")
        body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri,
                                     code_verifier=code_verifier)
        headers = {"content-type": "application/x-www-form-urlencoded"}
        url, headers, body = ClientAuth(client_id, client_secret, method).prepare(
            "POST", metadata["token_endpoint"], headers, body)
        status, answer = await self._call("POST", url, metadata["issuer"], headers=headers,
                                          content=body)
        if 400 <= status < 500:
            error = answer.get("error") if isinstance(answer, dict) else None
            log.info("identity provider %s refused the code: %s", metadata["issuer"],
                     error if isinstance(error, str) else status)
            raise ProviderError()
        if not isinstance(answer, dict):
            raise ProviderError("The identity provider's token answer is not JSON.")
        return answer

    async def _get_json(self, url: str, issuer: str) -> dict[str, Any]:
        status, answer = await self._call("GET", url, issuer)
        if status != 200 or not isinstance(answer, dict):
            log.warning("identity provider %s: GET %s answered %s", issuer, url, status)
            raise ProviderUnavailable()
        return answer

    async def _call(self, method: str, url: str, issuer: str, **kwargs: Any
                    ) -> tuple[int, Any]:
        """(status, parsed JSON or None) of one request; raises ProviderUnavailable on a
        connection error, the deadline, a 5xx or a 3xx."""
        try:
            async with asyncio.timeout(self._settings.oidc_http_timeout):
                async with self._http.stream(method, url, **kwargs) as response:
                    body = b""
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_BODY:
                            raise ProviderUnavailable()
        except (httpx.HTTPError, TimeoutError, OSError) as error:
            log.warning("identity provider %s unreachable: %s", issuer, type(error).__name__)
            raise ProviderUnavailable() from None
        if response.status_code >= 500 or 300 <= response.status_code < 400:
            log.warning("identity provider %s: %s %s answered %s", issuer, method, url,
                        response.status_code)
            raise ProviderUnavailable()
        try:
            return response.status_code, json.loads(body)
        except ValueError:
            return response.status_code, None
