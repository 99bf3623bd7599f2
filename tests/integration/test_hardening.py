"""Hardening at the HTTP edge: JSON-only bodies, security headers, no 5xx from odd input."""

from __future__ import annotations

import base64

import pytest

from tests.support import PASSWORD, bearer, serving, sign_in, verified_user

SIGNIN = b'{"email": "a@example.com", "password": "correct horse battery"}'


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None])
async def test_a_body_that_is_not_json_is_415_before_anything_happens(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/v1/auth/signin", content=SIGNIN, headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "unsupported_media_type"


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON",
    "application/vnd.latchkey+json"])
async def test_json_media_types_are_accepted(client, content_type):
    response = await client.post("/v1/auth/signin", content=SIGNIN,
                                 headers={"content-type": content_type})
    assert response.status_code == 401  # read and checked: wrong credentials


async def test_415_counts_no_rate_limit(settings, clock):
    async with serving(settings.replace(rate_limit_signin="1/minute"), clock,
                       worker=False) as client:
        for _ in range(3):
            refused = await client.post("/v1/auth/signin", content=SIGNIN,
                                        headers={"content-type": "text/plain"})
            assert refused.status_code == 415
        assert (await client.post("/v1/auth/signin", content=SIGNIN,
                                  headers={"content-type": "application/json"})
                ).status_code == 401


async def test_bodiless_posts_need_no_content_type(client):
    assert (await client.post("/v1/auth/signout")).status_code == 204
    assert (await client.post("/v1/auth/refresh")).status_code == 401


async def test_deeply_nested_body_is_400(client):
    body = b"[" * 10_000 + b"]" * 10_000
    response = await client.post("/v1/auth/signin", content=body,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["type"] == "malformed_body"


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                                "2026-01-01T00:00:00"])
async def test_cursors_at_the_edge_of_the_calendar_are_400(client, mailbox, at):
    await verified_user(client, mailbox, "edge@example.com")
    access = (await sign_in(client, "edge@example.com")).json()["accessToken"]
    raw = f"{at}|00000000-0000-0000-0000-000000000000".encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = await client.get(f"/v1/auth/security-events?cursor={cursor}",
                                headers=bearer(access))
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "cursor"


async def test_security_headers_on_every_response(client, mailbox):
    await verified_user(client, mailbox, "hdr@example.com")
    signed_in = await sign_in(client, "hdr@example.com", PASSWORD)
    for response in (signed_in, await client.get("/health"), await client.get("/nowhere"),
                     await client.post("/v1/auth/refresh")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
    assert signed_in.headers["cache-control"] == "no-store"
    assert signed_in.headers["pragma"] == "no-cache"
    assert "frame-ancestors 'none'" in signed_in.headers["content-security-policy"]


async def test_hsts_follows_app_url_and_its_setting(settings, clock):
    async with serving(settings.replace(app_url="https://id.example.com"), clock,
                       worker=False) as client:
        assert "max-age=" in (await client.get("/health")).headers["strict-transport-security"]
    async with serving(settings.replace(app_url="https://id.example.com", hsts=False), clock,
                       worker=False) as client:
        assert "strict-transport-security" not in (await client.get("/health")).headers
    async with serving(settings.replace(app_url="http://localhost:8000"), clock,
                       worker=False) as client:
        assert "strict-transport-security" not in (await client.get("/health")).headers


async def test_a_body_cut_short_is_not_a_server_error(settings, clock):
    """A client that disconnects mid-body gets no 500 and no traceback in the logs."""
    from api.app import create_app
    from tests.support import lifespan

    app = create_app(settings, clock)
    sent: list[dict] = []
    messages = iter([{"type": "http.request", "body": b'{"email": "a', "more_body": True},
                     {"type": "http.disconnect"}])

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/auth/signin", "raw_path": b"/v1/auth/signin",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("testserver", 80),
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"60"),
                         (b"host", b"testserver")]}
    async with lifespan(app):
        await app(scope, receive, send)
    assert sent[0]["status"] == 400


def test_a_recursion_bug_of_ours_stays_a_logged_500():
    from api.errors import too_deep

    def runaway() -> None:
        raise RecursionError("maximum recursion depth exceeded")

    try:
        runaway()
    except RecursionError as exc:
        assert too_deep(None, exc).status_code == 500  # type: ignore[arg-type]
