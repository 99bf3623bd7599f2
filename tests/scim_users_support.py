"""What the SCIM Users tests share: an organization with an owner and a SCIM token (written
straight to the database, as the admin API for tokens is tested elsewhere), and requests in
SCIM's media type."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from db.repositories import memberships, scim_tokens
from db.transaction import transaction
from domain.tokens import hash_token, new_opaque_token

USERS = "/scim/v2/Users"
SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Directory:
    """An organization, its owner (id, Bearer headers) and its SCIM token's headers."""

    organization_id: str
    owner_id: uuid.UUID
    owner: dict[str, str]
    headers: dict[str, str]
    token_id: uuid.UUID


async def scim_token(clock: Any, organization_id: str) -> tuple[uuid.UUID, dict[str, str]]:
    raw = new_opaque_token()
    async with transaction():
        token = await scim_tokens.insert(organization_id=uuid.UUID(organization_id),
                                         token_hash=hash_token(raw), description="test",
                                         created_by=None, now=clock())
    return token.id, {"authorization": f"Bearer {raw}", "content-type": SCIM_JSON}


async def directory(client: Any, person: Any, clock: Any, owner_email: str = "owner@acme.example",
                    name: str = "Acme") -> Directory:
    owner_id, owner = await person(owner_email, "Olive Owner")
    response = await client.post("/v1/organizations", headers=owner, json={"name": name})
    assert response.status_code == 201, response.text
    organization_id = response.json()["id"]
    token_id, headers = await scim_token(clock, organization_id)
    clock.advance(seconds=1)  # members list in the order they joined: the owner first
    return Directory(organization_id, owner_id, owner, headers, token_id)


async def join(clock: Any, organization_id: str, user_id: uuid.UUID, role: str = "member") -> None:
    """A membership written straight to the database (as an accepted invitation leaves it)."""
    async with transaction():
        await memberships.add(organization_id=uuid.UUID(organization_id), user_id=user_id,
                              role=role, now=clock())


def new_user(user_name: str = "bjensen@acme.example", **extra: Any) -> dict[str, Any]:
    """A creation body as Okta sends it."""
    return {"schemas": [USER_SCHEMA], "userName": user_name,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "active": True, **extra}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


async def create(client: Any, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(USERS, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """Assert a SCIM Error (RFC 7644 §3.12) of ``status`` (and ``scimType``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


async def audit_events(action: str) -> list[dict[str, Any]]:
    """The audit rows of ``action``, oldest first, with their metadata as a dict."""
    from db.tables import AuditEvent

    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(
        AuditEvent.created_at)
    for row in rows:
        if isinstance(row["metadata"], str):
            row["metadata"] = json.loads(row["metadata"])
    return rows
