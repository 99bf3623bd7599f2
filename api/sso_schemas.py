"""Request bodies and query parameters of single sign-on (API.md ``/v1/auth/sso/*``)."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from api.openapi import Problem
from api.schemas import Camel, DeviceName, OpaqueToken, RefreshTransport

# 302 responses of start and callback; 502 when the identity provider does not answer
REDIRECT = ResponseSpec(data_container=None, description="Redirect (see `Location`).",
                        generate_examples=False)
UNAVAILABLE = ResponseSpec(
    data_container=Problem, media_type="application/problem+json", generate_examples=False,
    description="`provider_unavailable`: the identity provider did not answer within "
                "OIDC_HTTP_TIMEOUT, refused the connection or failed (5xx).")


class SsoExchangeRequest(Camel):
    """code: the one-time code the callback added to ``redirectTo`` (60 s, single use)."""

    code: OpaqueToken
    refresh_transport: RefreshTransport = "body"
    device_name: DeviceName | None = None
