"""Token primitives: opaque secrets stored as SHA-256, and JWT access tokens.

Opaque secrets (refresh, verification, reset, magic-link, pairing) carry 256 bits from
``secrets`` (OWASP ASVS 3.2.2) and only their SHA-256 is stored, so a database leak
yields nothing usable (OWASP ASVS 2.10.4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from domain.errors import Unauthenticated

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated between web processes


def new_opaque_token() -> str:
    """Return a fresh 256-bit secret, base64url without padding (43 chars)."""
    return secrets.token_urlsafe(32)


def hash_token(raw: str) -> str:
    """SHA-256 of ``raw`` as 64 lower-case hex chars: what the database keeps."""
    return hashlib.sha256(raw.encode()).hexdigest()


def keyed_hmac(key: bytes, *parts: str) -> str:
    """HMAC-SHA256(key, parts joined by NUL) as 64 hex chars: how short codes are stored, so
    a database leak cannot be brute-forced offline without the key (OWASP ASVS 2.7.x)."""
    return hmac.new(key, "\0".join(parts).encode(), hashlib.sha256).hexdigest()


def derive_child_token(key: str, parent: str) -> str:
    """The refresh token that replaces ``parent`` on rotation: HMAC-SHA256(key, parent).

    Deterministic so that two refreshes racing with the same token inside the grace window
    both receive the same successor instead of forking the token family.
    """
    digest = hmac.new(key.encode(), b"refresh:" + parent.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """Verified claims of an access token. ``user_id``=sub, ``session_id``=sid."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    expires_at: datetime
    amr: tuple[str, ...]
    roles: tuple[str, ...] = ()  # the account's roles when the token was issued (API.md)
    auth_time: int | None = None  # when the session's holder signed in (Unix seconds, OIDC)
    context_type: str | None = None  # the active context's ``ctx.type`` (ContextType)
    context_id: uuid.UUID | None = None  # ``ctx.id``: an organization or a personal profile
    org_role: str | None = None  # the member's role when ``ctx`` is an organization


class AccessTokenCodec:
    """Issues and verifies HS256 JWT access tokens (RFC 7519, RFC 8725 §3.1 algorithm allow-list).

    ttl: seconds. Claims: sub, sid, jti, iat, exp, iss, aud, typ="access", amr, roles,
    auth_time (the session's sign-in), and ``ctx: {type, id}`` (+ ``orgRole``) when the
    session has an active context.
    """

    def __init__(self, *, secret: str, issuer: str, audience: str, ttl: int) -> None:
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def issue(self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime,
              amr: tuple[str, ...] = ("pwd",), roles: Sequence[str] = (),
              auth_time: datetime | None = None, context: tuple[str, uuid.UUID] | None = None,
              org_role: str | None = None) -> str:
        """Return a signed compact JWT valid for ``ttl`` seconds from ``now``. auth_time: when
        the person signed in (OIDC Core §2 ``auth_time``); context: the active context as
        (type, id), carried as ``ctx: {type, id}``, with ``orgRole`` for an organization."""
        payload: dict[str, object] = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl)).timestamp()),
            "iss": self.issuer,
            "aud": self.audience,
            "typ": ACCESS_TOKEN_TYPE,
            "amr": list(amr),
            "roles": list(roles),
        }
        if auth_time is not None:
            payload["auth_time"] = int(auth_time.timestamp())
        if context is not None:
            payload["ctx"] = {"type": context[0], "id": str(context[1])}
            if org_role is not None:
                payload["orgRole"] = org_role
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str, *, now: datetime) -> AccessClaims:
        """Verify signature, algorithm, iss, aud, exp and typ against ``now``.

        raises Unauthenticated for anything else (tampered, other alg incl. "none",
        expired, refresh token presented, malformed).
        """
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "sid", "jti"], "verify_exp": False,
                         "verify_iat": False},  # time is checked against the injected clock
            )
            if payload.get("typ") != ACCESS_TOKEN_TYPE:
                raise Unauthenticated("This is not an access token.")
            expires_at = datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo)
            if expires_at <= now:
                raise Unauthenticated("The access token has expired.")
            if int(payload["iat"]) > now.timestamp() + CLOCK_LEEWAY:
                raise Unauthenticated("The access token is not valid yet.")
            return AccessClaims(
                user_id=uuid.UUID(payload["sub"]),
                session_id=uuid.UUID(payload["sid"]),
                jti=str(payload["jti"]),
                expires_at=expires_at,
                amr=tuple(payload.get("amr") or ()),
                roles=tuple(payload.get("roles") or ()),
                auth_time=int(payload["auth_time"]) if "auth_time" in payload else None,
                context_type=str(ctx["type"]) if (ctx := payload.get("ctx")) else None,
                context_id=uuid.UUID(str(ctx["id"])) if ctx else None,
                org_role=str(payload["orgRole"]) if "orgRole" in payload else None,
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise Unauthenticated("The access token is invalid.") from exc
