"""The OpenAPI document tells the truth: every operation, fuzzed from the document by
schemathesis against the real web and worker processes, answers with a status and a body the
document declares (problem+json for every 4xx), and never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.processes import running_system
from tests.support import PASSWORD, token_of

OUT_OF_REACH = {f"RATE_LIMIT_{n}": "100000/minute" for n in (
    "REGISTER", "SIGNIN", "REFRESH", "PASSWORD_FORGOT", "VERIFY_EMAIL_RESEND", "TOKEN",
    "PASSWORD_FORGOT_PER_ACCOUNT", "VERIFY_EMAIL_RESEND_PER_ACCOUNT", "REAUTH_PER_SESSION")}
CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance,
          openapi_checks.response_headers_conformance]


@pytest.fixture(scope="module")
def api(smtp) -> Iterator[tuple[str, str]]:
    """(base URL, an access token of a verified user) of a running system."""
    mailbox, port = smtp
    with running_system(port, **OUT_OF_REACH) as url, httpx.Client(base_url=url) as client:
        email = "schema@example.com"
        client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        link = mailbox.wait_for(email, timeout=5.0)[-1].links[0]
        client.post("/v1/auth/verify-email", json={"token": token_of(link)})
        pair = client.post("/v1/auth/signin", json={"email": email, "password": PASSWORD})
        yield url, pair.json()["accessToken"]


def call_and_check(case, url: str, access_token: str) -> None:
    # Sign-out, revoke-others and DELETE would end the session the other operations use.
    if case.path.endswith(("/signout", "/revoke-others")) or case.method == "DELETE":
        case.headers = {**(case.headers or {}), "authorization": "Bearer not-a-token"}
    elif "authorization" not in {k.lower() for k in (case.headers or {})}:
        case.headers = {**(case.headers or {}), "authorization": f"Bearer {access_token}"}
    response = case.call(base_url=url)
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), response.text


def test_every_operation_conforms(api):
    url, access_token = api
    document = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    operations = [result.ok() for result in document.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def conforms(case) -> None:
            call_and_check(case, url, access_token)

        conforms()


def test_the_document_names_its_bearer_scheme_and_real_constraints(api):
    document = httpx.get(f"{api[0]}/schema/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    register = document["paths"]["/v1/auth/register"]["post"]
    assert register["description"]
    assert "application/problem+json" in register["responses"]["400"]["content"]
    assert {"400", "409", "429"} <= set(register["responses"])
    password = document["components"]["schemas"]["RegisterRequest"]["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (12, 128)
    profile = document["paths"]["/v1/auth/profile"]["get"]
    assert profile["security"] == [{"bearer": []}]


def test_the_ui_loads_its_assets_from_this_server(api):
    page = httpx.get(f"{api[0]}/schema/swagger").text
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        answer = httpx.get(f"{api[0]}/schema/assets/{asset}")
        assert answer.status_code == 200 and len(answer.content) > 10_000
