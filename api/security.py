"""Transport-level hardening: JSON-only request bodies and security headers on every response.

- JSON only (OWASP ASVS 13.2.5, RFC 9110 §15.5.16): a body under ``/v1/`` must be declared
  ``application/json`` or ``application/*+json``. ``text/plain``, form and multipart bodies need
  no CORS preflight, so accepting them lets any web page sign a visitor in (login CSRF). The
  check runs before routing, so a refused request is not parsed, rate-limited or audited.
- Headers (OWASP ASVS 14.4): nosniff, no-referrer, no framing; ``no-store`` on the API (every
  response may carry a token, code or secret: RFC 9111 §5.2.2.5); HSTS (RFC 6797) when
  ``APP_URL`` is https and ``HSTS`` is on. A header a handler set itself is kept (hosted pages
  send their own CSP).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.settings import Settings

BODY_METHODS = (b"POST", b"PUT", b"PATCH", b"DELETE")
JSON_PREFIXES = ("/v1/",)  # the hosted pages take forms; SCIM joins with its own media type

EVERYWHERE = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
              (b"x-frame-options", b"DENY")]
API_ONLY = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache"),
            (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def is_json(content_type: str) -> bool:
    """application/json or application/<anything>+json, with or without parameters."""
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _has_body(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length", b"").strip()
    return (length not in (b"", b"0")) or b"transfer-encoding" in headers


async def _unsupported_media_type(send: Send) -> None:
    status = 415
    body = json.dumps({"type": "unsupported_media_type", "title": HTTPStatus(status).phrase,
                       "status": status, "detail": "Send the body as application/json."}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def json_only(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: 415 problem+json for a ``/v1/`` body that is not JSON."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"].encode() in BODY_METHODS
                and scope["path"].startswith(JSON_PREFIXES)):
            headers = dict(scope["headers"])
            if _has_body(headers) and not is_json(headers.get(b"content-type", b"").decode(
                    "latin-1")):
                await _unsupported_media_type(send)
                return
        await app(scope, receive, send)

    return middleware


def security_headers(settings: Settings) -> Callable[[Message, Scope], Any]:
    """A Litestar ``before_send`` hook adding the security headers to every response."""
    hsts = settings.hsts and settings.app_url.lower().startswith("https://")

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or [])
        present = {name.lower() for name, _ in headers}
        wanted = EVERYWHERE + (API_ONLY if scope["path"].startswith(JSON_PREFIXES) else [])
        headers.extend(h for h in wanted + ([HSTS] if hsts else []) if h[0] not in present)
        message["headers"] = headers

    return before_send
