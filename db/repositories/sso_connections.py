"""SSO connections: an organization's OpenID Connect provider and the email domains it
answers for (``sso_domains``, unique: one organization per domain)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from db.tables import SsoConnection, SsoDomain
from domain.records import SsoConnectionRecord

_SELECT = ("SELECT c.id, c.organization_id, c.issuer, c.client_id, c.client_secret_encrypted, "
           "c.trust_provider_mfa, c.jit_provisioning, c.created_at, c.updated_at "
           "FROM sso_connections c ")


async def _records(rows: list[dict[str, Any]]) -> list[SsoConnectionRecord]:
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    domains: dict[uuid.UUID, list[str]] = {}
    verified: dict[uuid.UUID, list[str]] = {}
    for d in await SsoDomain.select(SsoDomain.connection_id, SsoDomain.domain,
                                    SsoDomain.verified_at).where(
            SsoDomain.connection_id.is_in(ids)).order_by(SsoDomain.domain):
        domains.setdefault(d["connection_id"], []).append(d["domain"])
        if d["verified_at"] is not None:
            verified.setdefault(d["connection_id"], []).append(d["domain"])
    return [SsoConnectionRecord(**{**row, "trust_provider_mfa": bool(row["trust_provider_mfa"]),
                                   "jit_provisioning": bool(row["jit_provisioning"]),
                                   "allowed_domains": tuple(domains.get(row["id"], ())),
                                   "verified_domains": tuple(verified.get(row["id"], ()))})
            for row in rows]


async def of_organization(organization_id: uuid.UUID) -> SsoConnectionRecord | None:
    """The organization's connection, or None."""
    found = await _records(await SsoConnection.raw(
        _SELECT + "WHERE c.organization_id = {}", organization_id))
    return found[0] if found else None


async def by_domain(domain: str) -> SsoConnectionRecord | None:
    """The connection answering for the email domain (lower case, no @) once the domain is
    verified, or None."""
    found = await _records(await SsoConnection.raw(
        _SELECT + "JOIN sso_domains d ON d.connection_id = c.id WHERE d.domain = {} "
        "AND d.verified_at IS NOT NULL", domain.lower()))
    return found[0] if found else None


async def set_verified(connection_id: uuid.UUID, domain: str, verified_at: datetime | None
                       ) -> bool:
    """Mark the connection's domain verified (``verified_at``) or not (None); False when the
    connection does not list the domain."""
    return bool(await SsoDomain.update({SsoDomain.verified_at: verified_at}).where(
        (SsoDomain.connection_id == connection_id) & (SsoDomain.domain == domain.lower())
    ).returning(SsoDomain.id))


async def domains_taken(domains: Sequence[str], *, except_connection: uuid.UUID | None = None
                        ) -> list[str]:
    """Which of ``domains`` another connection answers for already."""
    if not domains:
        return []
    query = SsoDomain.select(SsoDomain.domain).where(SsoDomain.domain.is_in(list(domains)))
    if except_connection is not None:
        query = query.where(SsoDomain.connection_id != except_connection)
    return sorted(row["domain"] for row in await query)


async def insert(*, organization_id: uuid.UUID, issuer: str, client_id: str,
                 client_secret_encrypted: str, trust_provider_mfa: bool,
                 jit_provisioning: bool, allowed_domains: Sequence[str],
                 created_by: uuid.UUID | None, now: datetime) -> SsoConnectionRecord:
    """Insert the organization's connection and its domains. Call inside a transaction, after
    checking :func:`of_organization` and :func:`domains_taken` under the organization's lock;
    the unique indexes (one per organization, one organization per domain) raise the driver's
    integrity error on a lost race."""
    connection_id = uuid.uuid4()
    await SsoConnection.insert(SsoConnection(
        id=connection_id, organization_id=organization_id, issuer=issuer, client_id=client_id,
        client_secret_encrypted=client_secret_encrypted, trust_provider_mfa=trust_provider_mfa,
        jit_provisioning=jit_provisioning, created_by=created_by, created_at=now,
        updated_at=now))
    await _set_domains(connection_id, allowed_domains)
    return SsoConnectionRecord(
        id=connection_id, organization_id=organization_id, issuer=issuer, client_id=client_id,
        client_secret_encrypted=client_secret_encrypted, trust_provider_mfa=trust_provider_mfa,
        jit_provisioning=jit_provisioning, allowed_domains=tuple(sorted(allowed_domains)),
        created_at=now, updated_at=now)


async def update(connection_id: uuid.UUID, *, now: datetime,
                 allowed_domains: Sequence[str] | None = None, **fields: Any) -> None:
    """Change ``fields`` (issuer, client_id, client_secret_encrypted, trust_provider_mfa,
    jit_provisioning) and, when given, replace the domains. Call inside a transaction."""
    columns = {getattr(SsoConnection, name): value for name, value in fields.items()}
    await SsoConnection.update({**columns, SsoConnection.updated_at: now}).where(
        SsoConnection.id == connection_id)
    if allowed_domains is not None:  # domains kept keep their verification
        wanted = {d.lower() for d in allowed_domains}
        await SsoDomain.delete().where((SsoDomain.connection_id == connection_id)
                                       & SsoDomain.domain.not_in(list(wanted)))
        kept = {row["domain"] for row in await SsoDomain.select(SsoDomain.domain).where(
            SsoDomain.connection_id == connection_id)}
        await _set_domains(connection_id, sorted(wanted - kept))


async def unverify_all(connection_id: uuid.UUID) -> None:
    """Drop the verification of every domain of the connection (its issuer changed)."""
    await SsoDomain.update({SsoDomain.verified_at: None}).where(
        SsoDomain.connection_id == connection_id)


async def delete(connection_id: uuid.UUID) -> bool:
    """Delete the connection (its domains cascade); False when it was gone already."""
    return bool(await SsoConnection.delete().where(SsoConnection.id == connection_id)
                .returning(SsoConnection.id))


async def _set_domains(connection_id: uuid.UUID, domains: Sequence[str]) -> None:
    if domains:
        await SsoDomain.insert(*[SsoDomain(id=uuid.uuid4(), connection_id=connection_id,
                                           domain=d.lower()) for d in domains])
