"""Every error leaves as RFC 9457 problem+json; domain errors map to HTTP here, in one place."""

from __future__ import annotations

import logging
import os
import re
from http import HTTPStatus
from typing import Any

import msgspec.inspect as mi
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from domain import errors as e
from domain.directory.errors import ManagedExternally, ProviderUnavailable

log = logging.getLogger("latchkey.api")

PROBLEM_JSON = "application/problem+json"
CLIENT_GONE = "client disconnected prematurely"  # litestar.connection.request

STATUS: dict[type[e.DomainError], int] = {
    e.ValidationFailed: 400,
    e.InvalidOneTimeToken: 400,
    e.InvalidCredentials: 401,
    e.Unauthenticated: 401,
    e.EmailNotVerified: 403,
    e.AccountDisabled: 403,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.EmailTaken: 409,
    e.Conflict: 409,
    e.InvalidCode: 400,
    e.RateLimited: 429,
    e.Overloaded: 503,
    ProviderUnavailable: 502,
}

# Litestar statuses with our slugs; 413 becomes a 400 like every other bad body (issue #2)
HTTP_SLUGS: dict[int, tuple[int, str]] = {
    400: (400, "malformed_body"),
    401: (401, "unauthenticated"),
    403: (403, "forbidden"),
    404: (404, "not_found"),
    405: (405, "method_not_allowed"),
    413: (400, "body_too_large"),
    415: (400, "unsupported_media_type"),
    429: (429, "rate_limited"),
}


def problem(status: int, type_: str, detail: str, *, errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response[dict[str, Any]]:
    """Build a problem+json response: {type, title, status, detail[, errors][, extension
    members]} (RFC 9457 §3.2 allows extension members such as ``limit``)."""
    body: dict[str, Any] = {"type": type_, "title": HTTPStatus(status).phrase,
                            "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: e.DomainError) -> int:
    """The HTTP status of a domain error: its nearest class in STATUS, else 400."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 400


def domain_error(_: Request, exc: e.DomainError) -> Response[dict[str, Any]]:
    status = status_of(exc)
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    extra: dict[str, Any] = {}
    if isinstance(exc, e.RateLimited | e.Overloaded):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, e.RateLimited):
        extra = {"limit": exc.limit, "setting": exc.setting}
    if isinstance(exc, ManagedExternally):
        extra = {"fields": exc.fields}
    errors = None
    if isinstance(exc, e.ValidationFailed):
        errors = [{"field": f, "message": m} for f, m in exc.errors]
    return problem(status, exc.code, exc.detail, errors=errors, headers=headers, **extra)


# msgspec's wording for broken constraints, said the way the domain says its rules
PLAIN_MESSAGES = [
    (re.compile(r"^Expected `str` of length >= (\d+)"), r"must be at least \1 characters"),
    (re.compile(r"^Expected `str` of length <= (\d+)"), r"must be at most \1 characters"),
    (re.compile(r"^Expected `str` matching regex '\^\[A-Za-z0-9_-\]\+\$'"),
     "is not a token this API issued"),
    (re.compile(r"^Expected `str` matching regex"), "must not contain control characters"),
    (re.compile(r"^Object missing required field `([^`]+)`"), "is required"),
]
MISSING = re.compile(r"^Object missing required field `([^`]+)`")


def _field_error(item: dict[str, Any]) -> dict[str, str]:
    """One {field, message}: the field as the client spelled it (camelCase; ``body`` for the
    body as a whole), the message in plain words."""
    message = str(item.get("message", "is invalid"))
    key = str(item.get("key") or "")
    missing = MISSING.match(message)
    if missing:
        key = missing.group(1)
    elif key in ("", "data", "body"):
        key = "body"
    for pattern, plain in PLAIN_MESSAGES:
        if matched := pattern.match(message):
            message = matched.expand(plain)
            break
    return {"field": key, "message": message}


ENUM_VALUE = re.compile(r"^Invalid enum value ")


def _allowed_values(request: Request, path: str) -> list[str] | None:
    """The values of the Literal or Enum field at ``path`` ("items[0].channel", camelCase) of
    the handler's msgspec body type; None when it is not one (never raises)."""
    try:
        data = request.route_handler.parsed_fn_signature.parameters.get("data")
        node: Any = mi.type_info(data.annotation) if data is not None else None
        for part in re.sub(r"\[\d+\]", "", path).split("."):
            node = _inner(node)
            if not isinstance(node, mi.StructType):
                return None
            node = next((f.type for f in node.fields if f.encode_name == part), None)
        node = _inner(node)
        if isinstance(node, mi.LiteralType):
            return [str(v) for v in node.values]
        if isinstance(node, mi.EnumType):
            return [str(m.value) for m in node.cls]
    except Exception:  # an error message must never become a 500
        return None
    return None


def _inner(node: Any) -> Any:
    """Through lists and ``X | None`` to the type inside."""
    while True:
        if isinstance(node, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            node = node.item_type
        elif isinstance(node, mi.UnionType) and len(
                inner := [t for t in node.types if not isinstance(t, mi.NoneType)]) == 1:
            node = inner[0]
        else:
            return node


def validation_error(request: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    """Litestar/msgspec decode failures: malformed JSON, wrong types, missing fields, bad
    query or path parameters. An unknown value of a Literal or Enum field names the allowed
    ones ("must be one of organization, personal"; issue 13 "Bad input")."""
    items = [i for i in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(i, dict)]
    errors = [_field_error(item) for item in items]
    for item, error in zip(items, errors, strict=True):
        if item.get("source") == "body" and ENUM_VALUE.match(str(item.get("message", ""))) \
                and (allowed := _allowed_values(request, error["field"])):
            error["message"] = "must be one of " + ", ".join(allowed)
    if items and all(i.get("source") in ("query", "path", "header", "cookie") for i in items):
        detail = "A parameter of the request is not valid."
    else:
        detail = "The request body is not valid JSON of the expected shape."
    return problem(400, "validation_failed", detail, errors=errors or None)


def http_error(_: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    if exc.detail == CLIENT_GONE:  # Litestar's 500 for a body cut short: the client's doing
        return problem(400, "client_disconnected", "The request body ended early.")
    status, slug = HTTP_SLUGS.get(exc.status_code, (exc.status_code, "error"))
    if status >= 500:
        return internal_error(_, exc)
    detail = str(exc.detail)
    if exc.status_code == 413:
        detail = "The request body is larger than this endpoint accepts."
    return problem(status, slug, detail, headers=exc.headers)


def internal_error(_: Request, exc: Exception) -> Response[dict[str, Any]]:
    # Logged with the traceback for operators; the client learns nothing internal.
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "Something went wrong on our side.")


def too_deep(request: Request, exc: RecursionError) -> Response[dict[str, Any]]:
    """A body nested past the decoder's depth limit (e.g. 10,000 nested arrays): msgspec
    raises RecursionError while Litestar decodes the body, before any handler ran. A
    RecursionError from anywhere else is a bug of ours: a logged 500."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename if tb is not None else ""
    if f"{os.sep}litestar{os.sep}" not in where and f"{os.sep}msgspec{os.sep}" not in where:
        return internal_error(request, exc)
    return problem(400, "malformed_body", "The request body is nested too deeply.")


EXCEPTION_HANDLERS = {
    e.DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    RecursionError: too_deep,
    Exception: internal_error,
}
