"""OpenID providers for the single sign-on tests, all real HTTP servers on localhost:

* ``MockProvider``: oidc-provider-mock (authlib's authorization server) in a thread, with a
  WSGI recorder of each authorize request's ``code_challenge`` and each token request's
  ``code_verifier`` (the mock ignores PKCE; the test checks S256(verifier) == challenge).
* ``ScriptedProvider``: discovery + JWKS + token endpoint answering with an ID token the test
  shapes and signs with joserfc (another key, wrong aud or iss, expired, wrong nonce, alg none,
  HS256 keyed with the public key, a rotated key), or an OAuth error.
* ``hanging_issuer`` (accepts connections, never answers) and ``refused_issuer`` (a closed
  port).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.wrappers import Request, Response

# authlib's authorization server refuses plain http unless told this is a test
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

CALLBACK = "https://app.example.test/v1/auth/sso/callback"
CLIENT_ID = "latchkey-test"
CLIENT_SECRET = "s3cret-of-the-client"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve the WSGI ``app`` on 127.0.0.1 in a thread; yields its base URL."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


class PkceRecorder:
    """WSGI middleware: remembers the ``code_challenge`` (+ method) of authorize requests and
    the ``code_verifier`` of token requests passing through to the wrapped app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.challenges: list[tuple[str | None, str | None]] = []
        self.verifiers: list[str | None] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/oauth2/authorize" and request.method == "POST":
            self.challenges.append((request.args.get("code_challenge"),
                                    request.args.get("code_challenge_method")))
        elif request.path == "/oauth2/token":
            body = request.get_data()
            environ["wsgi.input"] = io.BytesIO(body)  # the mock reads the body again
            environ["CONTENT_LENGTH"] = str(len(body))
            self.verifiers.append(parse_qs(body.decode()).get("code_verifier", [None])[0])
        return self.app(environ, start_response)


class MockProvider:
    """oidc-provider-mock with ``require_nonce=True``. ``issuer``: its base URL."""

    def __init__(self, issuer: str, recorder: PkceRecorder) -> None:
        self.issuer = issuer
        self.recorder = recorder

    async def set_user(self, sub: str, **claims: Any) -> None:
        """The claims the provider's ID tokens give ``sub`` (email, email_verified, name,
        amr ...)."""
        async with httpx.AsyncClient() as http:
            answer = await http.put(f"{self.issuer}/users/{sub}", json=claims)
            assert answer.status_code == 204, answer.text

    async def login(self, authorization_url: str, sub: str, *, deny: bool = False) -> str:
        """Sign ``sub`` in at the authorization URL (the mock's form); returns the callback
        URL the provider redirects the browser to."""
        form = {"action": "deny"} if deny else {"sub": sub}
        async with httpx.AsyncClient() as http:
            answer = await http.post(authorization_url, data=form)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["location"]


@contextlib.contextmanager
def mock_provider() -> Iterator[MockProvider]:
    from oidc_provider_mock import app

    recorder = PkceRecorder(app(require_nonce=True))
    with serve(recorder) as base:
        yield MockProvider(base, recorder)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ScriptedProvider:
    """A provider whose token endpoint answers what the test says.

    ``key`` signs and is published in the JWKS (kid ``k1``); ``claims`` / ``header``
    override the ID token's; ``sign_with`` another key; ``alg`` ``none`` or ``HS256`` for the
    refused algorithms; ``token_error`` an OAuth error answer, ``token_status`` a failing
    token endpoint; ``discovery_issuer`` what the
    discovery document says the issuer is. ``issuer``: its base URL."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.issuer = ""
        self.discovery_issuer: str | None = None
        self.claims: dict[str, Any] = {}
        self.header: dict[str, Any] = {}
        self.sign_with: Any = None
        self.alg = "RS256"
        self.token_error: str | None = None
        self.token_status: int | None = None  # e.g. 503: the token endpoint is down
        self.nonces: dict[str, str] = {}  # code -> nonce of its authorize request
        self.challenges: dict[str, str] = {}  # code -> code_challenge
        self.verifiers: list[str] = []
        self.jwks_fetches = 0

    def rotate(self, kid: str) -> None:
        """Publish a new signing key (and only it) under ``kid``."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})

    def authorize(self, authorization_url: str) -> tuple[str, str]:
        """What the browser would do at the provider: (code, state) of a signed-in person."""
        query = query_of(authorization_url)
        code = uuid.uuid4().hex
        self.nonces[code] = query["nonce"]
        self.challenges[code] = query["code_challenge"]
        return code, query["state"]

    def id_token(self, code: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "scripted-1", "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300, "nonce": self.nonces.get(code, "?"),
                  "email": "sam@example.com", "email_verified": True, "name": "Sam",
                  **self.claims}
        claims = {k: v for k, v in claims.items() if v is not None}
        if self.alg == "none":
            header = {"alg": "none", "kid": self.key.kid}
            return (f"{b64url(json.dumps(header).encode())}."
                    f"{b64url(json.dumps(claims).encode())}.")
        if self.alg == "HS256":
            # the classic confusion: HMAC keyed with the public key. joserfc refuses to make
            # such a key (rightly), so the attacker's token is put together by hand
            header = {"alg": "HS256", "kid": self.key.kid}
            signing_input = (f"{b64url(json.dumps(header).encode())}."
                             f"{b64url(json.dumps(claims).encode())}")
            mac = hmac.new(self.key.as_pem(private=False), signing_input.encode(),
                           hashlib.sha256).digest()
            return f"{signing_input}.{b64url(mac)}"
        key = self.sign_with or self.key
        header = {"alg": self.alg, "kid": key.kid, **self.header}
        return jwt.encode(header, claims, key, algorithms=[self.alg])

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/.well-known/openid-configuration":
            body: Any = {"issuer": self.discovery_issuer or self.issuer,
                         "authorization_endpoint": f"{self.issuer}/authorize",
                         "token_endpoint": f"{self.issuer}/token",
                         "jwks_uri": f"{self.issuer}/jwks",
                         "id_token_signing_alg_values_supported": ["RS256"]}
        elif request.path == "/jwks":
            self.jwks_fetches += 1
            body = KeySet([self.key]).as_dict(private=False)
        elif request.path == "/token" and request.method == "POST":
            self.verifiers.append(request.form.get("code_verifier", ""))
            if self.token_status:
                return Response("down", self.token_status)(environ, start_response)
            if self.token_error:
                return Response(json.dumps({"error": self.token_error}), 400,
                                content_type="application/json")(environ, start_response)
            body = {"access_token": "at-" + uuid.uuid4().hex, "token_type": "Bearer",
                    "expires_in": 300, "id_token": self.id_token(request.form["code"])}
        else:
            return Response("not found", 404)(environ, start_response)
        return Response(json.dumps(body), 200,
                        content_type="application/json")(environ, start_response)


@contextlib.contextmanager
def scripted_provider() -> Iterator[ScriptedProvider]:
    provider = ScriptedProvider()
    with serve(provider) as base:
        provider.issuer = base
        yield provider


@contextlib.contextmanager
def hanging_issuer() -> Iterator[str]:
    """An issuer URL whose server accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in accepted:
            connection.close()
        listener.close()


def refused_issuer() -> str:
    """An issuer URL on a port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def callback_query(location: str) -> dict[str, list[str]]:
    """The query of the provider's redirect to latchkey's callback."""
    assert location.startswith(CALLBACK), location
    return parse_qs(urlsplit(location).query)


async def connect(settings: Any, organization_id: uuid.UUID | None, issuer: str, *,
                  domains: tuple[str, ...] = ("example.com",), trust_provider_mfa: bool = False,
                  jit: bool = True, verified: bool = True) -> None:
    """Connect the organization to the provider at ``issuer`` (as the admin API would:
    the client secret encrypted) and, with ``verified``, have the operator verify its
    domains (python -m scripts.sso_domain verify)."""
    from db.repositories import sso_connections
    from db.transaction import transaction
    from domain.encryption import SecretBox

    async with transaction():
        await sso_connections.insert(
            organization_id=organization_id, issuer=issuer, client_id=CLIENT_ID,
            client_secret_encrypted=SecretBox(settings).encrypt(CLIENT_SECRET),
            trust_provider_mfa=trust_provider_mfa, jit_provisioning=jit,
            allowed_domains=domains, created_by=None, now=_now())
    if verified and organization_id is not None:
        connection = await sso_connections.of_organization(organization_id)
        async with transaction():
            for domain in domains:
                await sso_connections.set_verified(connection.id, domain, _now())


def _now() -> Any:
    from datetime import UTC, datetime
    return datetime.now(UTC)


async def new_organization(client: httpx.AsyncClient, headers: dict[str, str],
                           name: str = "Acme") -> uuid.UUID:
    answer = await client.post("/v1/organizations", json={"name": name}, headers=headers)
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


async def counts() -> dict[str, int]:
    """Rows that a refused sign-in must not change."""
    from db.tables import IdentityLink, Membership, Session, User

    return {"users": await User.count(), "links": await IdentityLink.count(),
            "members": await Membership.count(), "sessions": await Session.count()}


async def audited(action: str) -> list[dict[str, Any]]:
    from db.tables import AuditEvent

    rows = await AuditEvent.select(AuditEvent.user_id, AuditEvent.metadata,
                                   AuditEvent.organization_id).where(
        AuditEvent.action == action).order_by(AuditEvent.created_at)
    for row in rows:
        if isinstance(row["metadata"], str):
            row["metadata"] = json.loads(row["metadata"])
    return rows
