"""SQL injection strings and mass assignment: what a client sends is data, never a query
fragment, and never a field the API does not take (OWASP ASVS 4.0.3 V5.3.4, V5.1.2)."""

from __future__ import annotations

import uuid

from tests.security.helpers import (
    PASSWORD,
    bearer,
    is_problem,
    new_email,
    register,
    sign_in,
    signed_in,
    verified_account,
)

SQL = ["' OR '1'='1", "' OR 1=1 --", "\"; DROP TABLE users; --", "') UNION SELECT * FROM users --",
       "admin'--", "1; SELECT pg_sleep(5) --"]


def test_sql_in_email_and_password_is_only_data(api, box):
    """ASVS V5.3.4 (parameterized queries): sign-in with injection strings as email or
    password is a 400 (not an address) or 401, never a 500 and never a session; an address
    whose local part holds quotes (valid in RFC 5322) is an ordinary account."""
    owner = new_email("owner")
    verified_account(api, box, owner)
    for text in SQL:
        as_email = sign_in(api, text, PASSWORD)
        assert as_email.status_code in (400, 401), (text, as_email.text)
        assert as_email.headers["content-type"].startswith("application/problem+json")
        as_password = sign_in(api, owner, text)
        assert is_problem(as_password, 401), (text, as_password.text)
        both = sign_in(api, f"{owner}{text}", text)
        assert both.status_code in (400, 401), (text, both.text)
    quoted = f"x'or'1'='1-{uuid.uuid4().hex[:8]}@example.com"
    verified_account(api, box, quoted)
    assert signed_in(api, quoted)["user"]["email"] == quoted
    assert sign_in(api, "x'or'1'='1@example.com").status_code == 401  # not a wildcard
    assert signed_in(api, owner)["user"]["email"] == owner  # the users table is intact


def test_sql_in_a_name_is_stored_verbatim(api, box):
    """ASVS V5.3.4: a name made of SQL is kept as text, character for character (V5.3.2),
    and nothing else changes."""
    email, name = new_email("bobby"), "Robert'); DROP TABLE users;--"
    verified_account(api, box, email, name=name)
    pair = signed_in(api, email)
    assert pair["user"]["name"] == name
    profile = api.get("/v1/auth/profile", headers=bearer(pair["accessToken"]))
    assert profile.json()["name"] == name


def test_sql_in_path_and_query_parameters_is_400(api, box):
    """ASVS V5.3.4 and V5.1.3 (parameters validated): ids and limits are typed, so an
    injection string is refused before any query."""
    email = new_email("params")
    verified_account(api, box, email)
    auth = bearer(signed_in(api, email)["accessToken"])
    for text in SQL:
        revoke = api.delete(f"/v1/auth/sessions/{text}", headers=auth)
        assert revoke.status_code in (400, 404), (text, revoke.status_code, revoke.text)
        limit = api.get("/v1/auth/security-events", params={"limit": text}, headers=auth)
        assert is_problem(limit, 400), (text, limit.text)
    assert api.get("/v1/auth/sessions", headers=auth).status_code == 200


def test_register_takes_no_privileged_fields(api, box):
    """Mass assignment (ASVS V5.1.2): roles, verification, activity, id and timestamps
    sent with a registration are ignored (or refused); the account gets none of them."""
    email, chosen_id = new_email("mass"), str(uuid.uuid4())
    extra = {"roles": ["admin"], "emailVerified": True, "email_verified": True,
             "emailVerifiedAt": "2020-01-01T00:00:00Z", "isActive": True, "id": chosen_id,
             "createdAt": "2000-01-01T00:00:00Z", "passwordHash": "$2b$04$" + "a" * 53}
    response = register(api, email, **extra)
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        return  # refusing unknown fields is as good as ignoring them
    assert response.json()["id"] != chosen_id
    unverified = sign_in(api, email)
    assert is_problem(unverified, 403), unverified.text  # emailVerified was not taken
    assert unverified.json()["type"] == "email_not_verified"
    verify = box.wait_for(email, subject="Verify your email address")[0].links[0]
    assert api.post("/v1/auth/verify-email",
                    json={"token": verify.split("token=")[1]}).status_code == 200
    user = signed_in(api, email)["user"]  # the password is the one sent, not the hash
    assert user["roles"] == ["user"] and user["id"] != chosen_id
    assert not user["createdAt"].startswith("2000")


def test_sign_in_takes_no_privileged_fields(api):
    """Mass assignment on sign-in (ASVS V5.1.2): an unverified account stays unverified
    however the body says otherwise."""
    email = new_email("mass-signin")
    assert register(api, email).status_code == 201
    response = sign_in(api, email, emailVerified=True, roles=["admin"], isActive=True,
                       amr=["mfa"])
    assert response.status_code in (400, 403), response.text
