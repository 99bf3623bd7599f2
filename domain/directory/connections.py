"""An organization's OpenID Connect identity provider as its owners and admins manage it:
connect, read, change and disconnect (API.md ``CRUD /v1/organizations/{id}/sso``, issue 14).

Role checks go through ``domain.organizations.access`` (owner or admin; outsiders get 404).
Each write runs in one unit of work under the organization's lock and is audited
(``organization.sso.created`` / ``updated`` / ``deleted``) without the client secret, which
is stored only encrypted with ``ENCRYPTION_KEY`` (domain.encryption.SecretBox) and never
returned. An email domain belongs to one organization's connection at a time (409
``domain_taken``); an organization has at most one connection (409 ``sso_connection_exists``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from db.engine import is_unique_violation
from db.repositories import organizations, sso_connections
from domain.directory import connection_rules as rules
from domain.directory.errors import DomainTaken, SsoConnectionExists
from domain.encryption import SecretBox
from domain.errors import NotFound, ValidationFailed
from domain.names import AuditAction
from domain.organizations import access
from domain.organizations.organizations import parse_id
from domain.records import SsoConnectionRecord
from domain.services import RequestInfo, Services
from domain.settings import Settings

NONE_CONNECTED = "This organization has no identity provider connected."


@dataclass(frozen=True, slots=True)
class ConnectionFields:
    """What an admin sends; on update, None means "unchanged"."""

    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    allowed_domains: list[str] | None = None
    trust_provider_mfa: bool | None = None
    jit_provisioning: bool | None = None


def _checked(settings: Settings, fields: ConnectionFields, *, creating: bool) -> dict[str, Any]:
    """The fields sent, normalized, as sso_connections column names (the secret encrypted;
    ``allowed_domains`` a list). raises ValidationFailed naming every bad field; on create
    issuer, clientId, clientSecret and allowedDomains are required."""
    problems: rules.Problems = []
    if creating:
        problems += [(name, "is required") for name, value in (
            ("issuer", fields.issuer), ("clientId", fields.client_id),
            ("clientSecret", fields.client_secret), ("allowedDomains", fields.allowed_domains))
            if value is None]
    out: dict[str, Any] = {}
    if fields.issuer is not None:
        out["issuer"] = rules.check_issuer(settings, fields.issuer, problems)
    if fields.client_id is not None:
        out["client_id"] = rules.check_text("clientId", fields.client_id,
                                            rules.MAX_CLIENT_ID, problems)
    if fields.client_secret is not None:
        secret = rules.check_text("clientSecret", fields.client_secret,
                                  rules.MAX_CLIENT_SECRET, problems)
        out["client_secret_encrypted"] = SecretBox(settings).encrypt(secret)
    if fields.allowed_domains is not None:
        out["allowed_domains"] = rules.check_domains(fields.allowed_domains, problems)
    for name in ("trust_provider_mfa", "jit_provisioning"):
        if (value := getattr(fields, name)) is not None:
            out[name] = value
    if problems:
        raise ValidationFailed(problems)
    return out


async def _refuse_taken(domains: list[str], connection_id: uuid.UUID | None) -> None:
    """raises DomainTaken naming the first domain another connection answers for."""
    taken = await sso_connections.domains_taken(domains, except_connection=connection_id)
    if taken:
        raise DomainTaken(taken[0])


async def _lost_race(domains: list[str], connection_id: uuid.UUID | None,
                     exc: Exception) -> None:
    """After the unique index refused a domain that another organization claimed at the
    same moment (PostgreSQL; SQLite serializes writers), the transaction is gone: raise
    DomainTaken naming it, read afresh. Any other error is re-raised."""
    if not is_unique_violation(exc):
        raise exc
    await _refuse_taken(domains, connection_id)
    raise DomainTaken(domains[0]) from exc


# NEW_PROVIDER: whoever chooses the provider chooses who signs in as the members of its
# verified domains. The operator verified a domain for the provider it saw; pointing the
# connection at another issuer (an admin's own provider, say) drops every verification, so it
# cannot sign in as anyone but people it linked itself until the operator verifies again.


async def create(svc: Services, actor_id: uuid.UUID, organization_text: str,
                 fields: ConnectionFields, info: RequestInfo) -> SsoConnectionRecord:
    """Connect the organization's identity provider (owner or admin); its domains start
    unverified (domain/directory/domain_verification.py). trust_provider_mfa
    defaults to False, jit_provisioning to True. raises NotFound, AuthorizationDenied,
    Forbidden (a member), ValidationFailed, SsoConnectionExists, DomainTaken (409)."""
    organization_id = parse_id(organization_text)
    values = _checked(svc.settings, fields, creating=True)
    try:
        async with svc.unit_of_work(info) as uow:
            await organizations.lock(organization_id)
            await access.require_manager(organization_id, actor_id)
            if await sso_connections.of_organization(organization_id) is not None:
                raise SsoConnectionExists()
            await _refuse_taken(values["allowed_domains"], None)
            made = await sso_connections.insert(
                organization_id=organization_id, created_by=actor_id, now=uow.now,
                **{"trust_provider_mfa": False, "jit_provisioning": True, **values})
            uow.audit(AuditAction.SSO_CONNECTION_CREATED, actor_id, actor_id=actor_id,
                      organization_id=organization_id, **_described(made))
    except Exception as exc:  # re-raised unless the unique index refused a domain
        await _lost_race(values["allowed_domains"], None, exc)
    return made


async def view(actor_id: uuid.UUID, organization_text: str) -> SsoConnectionRecord:
    """The organization's connection (owner or admin). raises NotFound (no such
    organization for the caller, or none connected), AuthorizationDenied, Forbidden."""
    organization_id = parse_id(organization_text)
    await access.require_manager(organization_id, actor_id)
    found = await sso_connections.of_organization(organization_id)
    if found is None:
        raise NotFound(NONE_CONNECTED)
    return found


async def update(svc: Services, actor_id: uuid.UUID, organization_text: str,
                 fields: ConnectionFields, info: RequestInfo) -> SsoConnectionRecord:
    """Change the fields sent (owner or admin); a new issuer un-verifies every domain (see
    NEW_PROVIDER); ``allowed_domains`` replaces the list, a
    client secret replaces the stored one. Audited with the names of the fields sent.
    raises NotFound, AuthorizationDenied, Forbidden, ValidationFailed, DomainTaken."""
    organization_id = parse_id(organization_text)
    values = _checked(svc.settings, fields, creating=False)
    domains = values.pop("allowed_domains", None)
    connection_id: uuid.UUID | None = None
    try:
        async with svc.unit_of_work(info) as uow:
            await organizations.lock(organization_id)
            before = await view(actor_id, organization_text)
            connection_id = before.id
            if domains is not None:
                await _refuse_taken(domains, before.id)
            if values or domains is not None:
                await sso_connections.update(before.id, now=uow.now, allowed_domains=domains,
                                             **values)
                if values.get("issuer", before.issuer) != before.issuer:  # NEW_PROVIDER
                    await sso_connections.unverify_all(before.id)
                sent = [*values, *(["allowed_domains"] if domains is not None else [])]
                uow.audit(AuditAction.SSO_CONNECTION_UPDATED, actor_id, actor_id=actor_id,
                          organization_id=organization_id,
                          issuer=values.get("issuer", before.issuer),
                          fields=sorted(f.removesuffix("_encrypted") for f in sent))
    except Exception as exc:  # re-raised unless the unique index refused a domain
        if domains is None:
            raise
        await _lost_race(domains, connection_id, exc)
    return await view(actor_id, organization_text)


async def delete(svc: Services, actor_id: uuid.UUID, organization_text: str,
                 info: RequestInfo) -> None:
    """Disconnect the organization's provider (owner or admin) with its email domains.
    Identity links stay: reconnecting the same issuer signs the same people in again.
    raises NotFound (none connected too), AuthorizationDenied, Forbidden."""
    organization_id = parse_id(organization_text)
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        found = await view(actor_id, organization_text)
        await sso_connections.delete(found.id)
        uow.audit(AuditAction.SSO_CONNECTION_DELETED, actor_id, actor_id=actor_id,
                  organization_id=organization_id, issuer=found.issuer,
                  client_id=found.client_id)


def _described(connection: SsoConnectionRecord) -> dict[str, Any]:
    """Audit metadata of a connection: everything but the secret."""
    return {"issuer": connection.issuer, "client_id": connection.client_id,
            "allowed_domains": list(connection.allowed_domains),
            "trust_provider_mfa": connection.trust_provider_mfa,
            "jit_provisioning": connection.jit_provisioning}
