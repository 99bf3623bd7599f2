"""Bodies of an organization's directory administration (API.md ``/v1/organizations/{id}/sso``
and ``/scim-tokens``), camelCase on the wire.

Request fields carry only their JSON types here: domain.directory.connection_rules applies
every rule and names each bad field in one 400 (a msgspec constraint would stop at the first).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from api.schemas import Camel
from domain.directory.connections import ConnectionFields
from domain.records import ScimTokenRecord, SsoConnectionRecord

Issuer = Annotated[str, Meta(
    examples=["https://acme.okta.com"],
    description="The provider's issuer URL exactly as its discovery document says it "
                "(https; trailing slash as the provider writes it): Okta "
                "`https://{org}.okta.com`, Entra ID "
                "`https://login.microsoftonline.com/{tenant-id}/v2.0`.")]
ClientId = Annotated[str, Meta(examples=["0oa1b2c3d4e5f6g7h8i9"],
                               description="1-255 characters.")]
ClientSecret = Annotated[str, Meta(examples=["the-client-secret"],
                                   description="1-1000 characters; stored encrypted, never "
                                               "returned.")]
Domains = Annotated[list[str], Meta(
    examples=[["acme.com", "acme.co.uk"]],
    description="1-50 email domains this provider may link and create accounts for "
                "(lower-cased, a leading @ dropped); each belongs to one organization.")]


class SsoConnectionRequest(Camel):
    """Connect a provider: issuer, clientId, clientSecret and allowedDomains are required
    (every missing one is named in the 400)."""

    issuer: Issuer | None = None
    client_id: ClientId | None = None
    client_secret: ClientSecret | None = None
    allowed_domains: Domains | None = None
    trust_provider_mfa: bool | None = None  # default false
    jit_provisioning: bool | None = None  # default true

    def fields(self) -> ConnectionFields:
        return ConnectionFields(
            issuer=self.issuer, client_id=self.client_id, client_secret=self.client_secret,
            allowed_domains=self.allowed_domains, trust_provider_mfa=self.trust_provider_mfa,
            jit_provisioning=self.jit_provisioning)


class SsoConnectionUpdate(SsoConnectionRequest):
    """Only the fields sent change; `allowedDomains` replaces the list, `clientSecret` the
    stored secret."""


class SsoConnection(Struct, rename="camel"):
    """An organization's identity provider. `redirectUri`: register it at the provider as
    the sign-in redirect URI. `verifiedDomains`: the allowed domains the operator verified the
    organization owns; only in these may its provider create accounts, link existing ones by
    email and vouch for addresses. The client secret is never returned."""

    id: uuid.UUID
    organization_id: uuid.UUID
    issuer: str
    client_id: str
    allowed_domains: list[str]
    verified_domains: list[str]  # verified by the operator: python -m scripts.sso_domain
    trust_provider_mfa: bool
    jit_provisioning: bool
    redirect_uri: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, connection: SsoConnectionRecord, redirect_uri: str) -> SsoConnection:
        return cls(id=connection.id,
                   organization_id=connection.organization_id,  # type: ignore[arg-type]
                   issuer=connection.issuer, client_id=connection.client_id,
                   allowed_domains=list(connection.allowed_domains),
                   verified_domains=list(connection.verified_domains),
                   trust_provider_mfa=connection.trust_provider_mfa,
                   jit_provisioning=connection.jit_provisioning, redirect_uri=redirect_uri,
                   created_at=connection.created_at, updated_at=connection.updated_at)


class ScimTokenRequest(Camel):
    description: Annotated[str, Meta(examples=["Okta provisioning"],
                                     description="At most 200 characters.")] | None = None


class NewScimToken(Struct, rename="camel"):
    """`token` is shown this once: give it to the SCIM client as its Bearer token."""

    id: uuid.UUID
    token: str
    description: str | None
    created_at: datetime


class ScimToken(Struct, rename="camel"):
    id: uuid.UUID
    description: str | None
    created_at: datetime
    last_used_at: datetime | None
    created_by: uuid.UUID | None  # null: created with python -m scripts.scim_token

    @classmethod
    def of(cls, token: ScimTokenRecord) -> ScimToken:
        return cls(id=token.id, description=token.description, created_at=token.created_at,
                   last_used_at=token.last_used_at, created_by=token.created_by)


class ScimTokenList(Struct, rename="camel"):
    items: list[ScimToken]
