"""CORS for browser front ends: exact origins, credentials for the cookie transport."""

from __future__ import annotations

from tests.support import serving

FRONT_END = "http://localhost:3000"
PREFLIGHT = {"origin": FRONT_END, "access-control-request-method": "POST",
             "access-control-request-headers": "content-type, authorization"}


async def test_preflight_from_an_allowed_origin_is_answered_with_credentials(settings, clock):
    async with serving(settings.replace(cors_origins=FRONT_END), clock, worker=False) as client:
        answer = await client.options("/v1/auth/signin", headers=PREFLIGHT)
        assert answer.status_code in (200, 204), answer.text
        assert answer.headers["access-control-allow-origin"] == FRONT_END
        assert answer.headers["access-control-allow-credentials"] == "true"
        assert "POST" in answer.headers["access-control-allow-methods"]
        assert "content-type" in answer.headers["access-control-allow-headers"].lower()
        actual = await client.post("/v1/auth/refresh", headers={"origin": FRONT_END})
        assert actual.status_code == 401  # no token, but the browser may read the answer
        assert actual.headers["access-control-allow-origin"] == FRONT_END


async def test_other_origins_get_no_cors_headers(settings, clock):
    async with serving(settings.replace(cors_origins=FRONT_END), clock, worker=False) as client:
        evil = await client.options("/v1/auth/signin",
                                    headers={**PREFLIGHT, "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        posted = await client.post("/v1/auth/refresh", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in posted.headers


async def test_without_cors_origins_no_origin_is_allowed(settings, clock):
    async with serving(settings, clock, worker=False) as client:
        answer = await client.options("/v1/auth/signin", headers=PREFLIGHT)
        assert "access-control-allow-origin" not in answer.headers
