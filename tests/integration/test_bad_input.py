"""Bad input gets a clear 400 problem+json on every write endpoint, never a 500."""

from __future__ import annotations

import pytest

from tests.support import JSON, bearer, sign_in, verified_user

WRITE_ENDPOINTS = ["/v1/auth/register", "/v1/auth/verify-email", "/v1/auth/verify-email/resend",
                   "/v1/auth/signin"]
BAD_BODIES = [
    b"{not json",
    b"[]",
    b'{"email": 3, "password": [], "token": {}}',
    b"{}",
    b'{"email": "' + b"a" * 70_000 + b'"}',
    b"\xff\xfe",
]


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", BAD_BODIES, ids=["malformed", "array", "types", "missing",
                                                  "oversized", "binary"])
async def test_bad_bodies_are_problem_400(client, path, body):
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400 and problem["type"] and problem["detail"]
    assert "Traceback" not in response.text


async def test_field_errors_name_the_field(client):
    response = await client.post("/v1/auth/register", json={"email": "a@b.io", "password": 5})
    assert response.json()["errors"] == [{"field": "password",
                                          "message": "Expected `str`, got `int`"}]


@pytest.mark.parametrize(("email", "password", "field"), [
    ("not-an-email", "long enough password", "email"),
    ("a@b.io", "short", "password"),
    ("a@b.io", "x" * 129, "password"),
])
async def test_register_rules(client, email, password, field):
    response = await client.post("/v1/auth/register", json={"email": email, "password": password})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


async def test_password_length_counts_code_points(client):
    # 12 distinct emoji are 48 UTF-8 bytes but 12 characters: long enough, and not guessable
    password = "🔑🐙🌵🎻🚲🧭🍋🪁🦉🧱🌋🎲"
    response = await client.post("/v1/auth/register",
                                 json={"email": "emoji@example.com", "password": password})
    assert response.status_code == 201, response.text


async def test_refresh_without_token_is_401(client):
    response = await client.post("/v1/auth/refresh")
    assert response.status_code == 401
    malformed = await client.post("/v1/auth/refresh", content=b"{bad", headers=JSON)
    assert malformed.status_code == 400


async def test_missing_fields_and_bad_parameters_are_named_as_sent(client, mailbox):
    missing = await client.post("/v1/auth/password/reset", json={"token": "abc"})
    assert missing.json()["errors"] == [{"field": "newPassword", "message": "is required"}]
    whole = await client.post("/v1/auth/signin", json=[1])
    assert whole.json()["errors"][0]["field"] == "body"
    control = await client.post("/v1/auth/register", json={
        "email": "nul@example.com", "password": "correct horse battery", "name": "a\u0000b"})
    assert control.status_code == 400
    assert control.json()["errors"] == [{"field": "name",
                                         "message": "must not contain control characters"}]
    await verified_user(client, mailbox, "params@example.com")
    pair = (await sign_in(client, "params@example.com")).json()
    bad = await client.get("/v1/auth/security-events?limit=abc",
                           headers=bearer(pair["accessToken"]))
    assert bad.status_code == 400
    assert bad.json()["detail"] == "A parameter of the request is not valid."
    assert bad.json()["errors"][0]["field"] == "limit"


async def test_existing_passwords_are_checked_whatever_they_hold(client):
    """Only new passwords follow the rules; a sign-in with a tab is a plain 401."""
    response = await client.post("/v1/auth/signin",
                                 json={"email": "tab@example.com", "password": "a\tb"})
    assert response.status_code == 401
    new = await client.post("/v1/auth/register",
                            json={"email": "tab@example.com", "password": "correct\thorse bat"})
    assert new.status_code == 400 and new.json()["errors"][0]["field"] == "password"
