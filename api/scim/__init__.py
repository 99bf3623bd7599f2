"""SCIM 2.0 at ``/scim/v2`` (RFC 7643 / 7644): the organization's identity provider
provisions its people (``Users``) and groups (``Groups`` = the organization's teams).

A router of its own: SCIM's media type and error shape (``api/scim/base.py``), its body limit
(``SCIM_MAX_BODY_BYTES``, 1 MB: directories send large group PATCHes; the rest of the API
keeps its small one) and a SCIM token instead of an access token on every route.
"""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from api.scim import discovery, groups, users
from api.scim.base import EXCEPTION_HANDLERS, PREFIX, scim_client
from domain.settings import Settings


def router(settings: Settings) -> Router:
    """The ``/scim/v2`` router. Every handler takes ``token: ScimTokenRecord`` (the
    authenticated SCIM token) when it needs one; discovery endpoints need it too (RFC 7644
    §4 lets them be public; ours are not, so a scan learns nothing)."""
    return Router(
        path=PREFIX,
        route_handlers=[*discovery.HANDLERS, *users.HANDLERS, *groups.HANDLERS],
        dependencies={"token": Provide(scim_client)},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.scim_max_body_bytes,
        include_in_schema=False,
    )
