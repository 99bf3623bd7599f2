"""What every SCIM endpoint shares (RFC 7644): its media type, its error shape, the SCIM
token that authenticates it, reading bodies, and ETags.

* Media type ``application/scim+json`` on every response (§3.1); requests may send it or
  ``application/json``.
* Errors are SCIM Error messages (§3.12: ``schemas``, ``status`` as a string, ``scimType``,
  ``detail``), never problem+json: :data:`EXCEPTION_HANDLERS` maps scim2-models' exceptions,
  our domain errors and Litestar's own (bad JSON, 413, 404, 405) in one place.
* ETags are weak and derived from the resource as served (``meta`` left out), so any change
  to what a client would read changes the version (§3.14); ``If-Match`` is honoured.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from pydantic import ValidationError as PydanticValidationError
from scim2_models import (
    Error,
    InvalidSyntaxException,
    InvalidValueException,
    PreconditionFailedException,
    SCIMException,
    UniquenessException,
)

from api.deps import bearer_token
from api.errors import status_of
from api.security import is_json
from domain import errors as e
from domain.directory.scim_access import authenticate_scim
from domain.records import ScimTokenRecord
from domain.services import Services

log = logging.getLogger("latchkey.scim")

SCIM_JSON = "application/scim+json"
PREFIX = "/scim/v2"
DEFAULT_COUNT = 100
MAX_COUNT = 200  # RFC 7644 §3.4.2.4: a provider may return fewer than asked
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def services(request: Request) -> Services:
    """The process's Services (built by the bootstrap in the app's lifespan)."""
    return request.app.state.services


def paging(start: int, count: int) -> tuple[int, int]:
    """RFC 7644 §3.4.2.4: a startIndex below 1 means 1, a negative count means 0, and at most
    MAX_COUNT resources are returned."""
    return max(start, 1), min(max(count, 0), MAX_COUNT)


def list_response(resources: list[dict[str, Any]], *, total: int, start: int
                  ) -> Response[Any]:
    """A ListResponse (RFC 7644 §3.4.2) of ``resources`` out of ``total``."""
    return scim_response({"schemas": [LIST_RESPONSE], "totalResults": total,
                          "startIndex": start, "itemsPerPage": len(resources),
                          "Resources": resources})


def scim_response(body: dict[str, Any] | None, *, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response[Any]:
    """A SCIM response: ``body`` (already in SCIM's JSON shape) as application/scim+json."""
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=SCIM_JSON, headers=headers)


def resource_response(resource: dict[str, Any], *, status: int = 200,
                      location: str | None = None) -> Response[Any]:
    """A single resource with its ``ETag`` header equal to ``meta.version`` (and
    ``Location`` on a 201, RFC 7644 §3.3)."""
    headers = {"ETag": resource["meta"]["version"]}
    if location:
        headers["Location"] = location
    return scim_response(resource, status=status, headers=headers)


def version_of(resource: dict[str, Any]) -> str:
    """The weak ETag of a resource dict as served, ``meta`` left out (RFC 7644 §3.14)."""
    served = {k: v for k, v in resource.items() if k != "meta"}
    digest = hashlib.sha256(json.dumps(served, sort_keys=True, default=str).encode())
    return f'W/"{digest.hexdigest()[:24]}"'


def check_if_match(request: Request, current_version: str) -> None:
    """Refuse a change made against an older version: ``If-Match`` (when sent) must list
    the current ETag or be ``*``. raises PreconditionFailedException (412)."""
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    tags = {t.strip() for t in wanted.split(",")}
    if "*" not in tags and current_version not in tags \
            and current_version.removeprefix("W/") not in tags:
        raise PreconditionFailedException(detail="The resource changed since that version.")


def location(request: Request, endpoint: str, resource_id: object) -> str:
    """The absolute URL of a resource: ``<base>/scim/v2/<endpoint>/<id>`` (``meta.location``)."""
    return f"{str(request.base_url).rstrip('/')}{PREFIX}/{endpoint}/{resource_id}"


async def read_body(request: Request) -> dict[str, Any]:
    """The request's JSON object. raises InvalidSyntaxException (400 invalidSyntax) for a
    body that is not JSON (or not declared as JSON) or not an object."""
    content_type = request.headers.get("content-type", "")
    if content_type and not is_json(content_type):
        raise InvalidSyntaxException(detail="Send the body as application/scim+json.")
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    if _has_nul(body):  # PostgreSQL text cannot hold U+0000; no attribute needs it
        raise InvalidValueException(detail="A value contains the NUL character (U+0000).")
    return body


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def scim_client(request: Request) -> ScimTokenRecord:
    """The SCIM token of the request (a Litestar dependency: ``token: ScimTokenRecord``).
    raises Unauthenticated (401) or RateLimited (429)."""
    return await authenticate_scim(request.app.state.services, bearer_token(request))


def _error(status: int, detail: str, scim_type: str | None = None,
           headers: dict[str, str] | None = None) -> Response[Any]:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(mode="json")
    return scim_response(body, status=status, headers=headers)


def scim_error(_: Request, exc: SCIMException) -> Response[Any]:
    return _error(exc.status, exc.detail, exc.scim_type or None)


def domain_error(_: Request, exc: e.DomainError) -> Response[Any]:
    """Our domain errors in SCIM's shape: the same statuses as the rest of the API."""
    status = status_of(exc)
    headers = None
    scim_type = None
    if isinstance(exc, e.ValidationFailed):
        scim_type = "invalidValue"
    elif isinstance(exc, e.EmailTaken):
        scim_type = UniquenessException.scim_type
    # a domain error may name its SCIM keyword itself (domain/directory/provisioning.py)
    scim_type = getattr(exc, "scim_type", None) or scim_type
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'}
    if isinstance(exc, e.RateLimited | e.Overloaded):
        headers = {"Retry-After": str(exc.retry_after)}
    return _error(status, exc.detail, scim_type, headers)


def resource_error(_: Request, exc: PydanticValidationError) -> Response[Any]:
    """A body scim2-models refused (a missing ``userName``, an email that is not one): the
    first error as scim2-models words it (RFC 7644 §3.12 invalidValue / invalidSyntax)."""
    error = Error.from_validation_errors(exc)[0]
    return _error(error.status or 400, error.detail or "The resource is not valid.",
                  error.scim_type)


def validation_error(_: Request, exc: ValidationException) -> Response[Any]:
    return _error(400, "A parameter of the request is not valid.", "invalidValue")


def http_error(_: Request, exc: HTTPException) -> Response[Any]:
    if exc.status_code == 413:  # RFC 7644 §3.12: 413 Payload Too Large
        return _error(413, "The request body is larger than SCIM_MAX_BODY_BYTES.")
    if exc.status_code >= 500:
        return internal_error(_, exc)
    return _error(exc.status_code, str(exc.detail))


def internal_error(_: Request, exc: Exception) -> Response[Any]:
    log.exception("unhandled error", exc_info=exc)
    return _error(500, "Something went wrong on our side.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    SCIMException: scim_error,
    e.DomainError: domain_error,
    PydanticValidationError: resource_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
