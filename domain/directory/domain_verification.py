"""The operator's confirmation that an organization owns an email domain its provider
answers for (``sso_domains.verified_at``).

``allowedDomains`` is what an organization says of itself. Until the operator verified a
domain, the organization's provider signs in only people already linked to it: it may not
create accounts in the domain, link existing ones by email or vouch for their addresses, and
``/sso/start?email=`` does not send the domain's people to it (WorkOS and Clerk gate the same
on a verified domain). The operator checks ownership out of band (a DNS TXT record, a
contract) and runs ``python -m scripts.sso_domain verify``.
"""

from __future__ import annotations

from db.repositories import organizations, sso_connections
from domain.errors import NotFound
from domain.names import AuditAction
from domain.organizations.organizations import parse_id
from domain.records import SsoConnectionRecord
from domain.services import RequestInfo, Services

NOT_LISTED = "The organization's identity provider does not list this domain."


async def set_verified(svc: Services, organization_text: str, domain: str, *, verified: bool,
                       info: RequestInfo) -> SsoConnectionRecord:
    """Mark ``domain`` of the organization's connection verified (or no longer); audited
    ``organization.sso.domain_verified`` / ``domain_unverified`` with no acting person.
    raises NotFound (no such organization, no connection, or the domain is not listed)."""
    organization_id = parse_id(organization_text)
    domain = domain.strip().lstrip("@").rstrip(".").lower()
    async with svc.unit_of_work(info) as uow:
        await organizations.lock(organization_id)
        connection = await sso_connections.of_organization(organization_id)
        if connection is None or not await sso_connections.set_verified(
                connection.id, domain, uow.now if verified else None):
            raise NotFound(NOT_LISTED if connection else "No identity provider is connected.")
        uow.audit(AuditAction.SSO_DOMAIN_VERIFIED if verified
                  else AuditAction.SSO_DOMAIN_UNVERIFIED, None,
                  organization_id=organization_id, domain=domain)
    found = await sso_connections.of_organization(organization_id)
    assert found is not None
    return found
