"""Which identity provider a sign-in goes to: an organization's connection (API.md
``/v1/organizations/{id}/sso``), or the deployment-wide one of the ``OIDC_*`` settings."""

from __future__ import annotations

import uuid

from db.repositories import sso_connections
from domain.directory.errors import SsoNotConfigured
from domain.encryption import SecretBox
from domain.records import SsoConnectionRecord
from domain.settings import Settings

DEPLOYMENT_PROVIDER_ID = uuid.UUID(int=0)  # the OIDC_* provider has no row of its own


def deployment_provider(settings: Settings) -> SsoConnectionRecord | None:
    """The ``OIDC_*`` settings as a connection with ``organization_id`` None, or None when
    ``OIDC_ISSUER`` is empty. Its secret is read from the settings (see :func:`client_secret`),
    never stored."""
    if not settings.oidc_issuer:
        return None
    return SsoConnectionRecord(
        id=DEPLOYMENT_PROVIDER_ID, organization_id=None, issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id, client_secret_encrypted="",
        trust_provider_mfa=settings.oidc_trust_provider_mfa,
        jit_provisioning=settings.oidc_jit_provisioning,
        allowed_domains=settings.oidc_domains, verified_domains=settings.oidc_domains)


async def find_provider(settings: Settings, *, organization_id: uuid.UUID | None = None,
                        email: str | None = None) -> SsoConnectionRecord:
    """The organization's connection; else (by ``email``) the connection answering for the
    address's domain once the operator verified it (an organization's unverified claim never
    draws other people's sign-ins to its provider), else the deployment-wide provider when
    ``OIDC_ALLOWED_DOMAINS`` holds the domain. raises SsoNotConfigured."""
    found: SsoConnectionRecord | None = None
    if organization_id is not None:
        found = await sso_connections.of_organization(organization_id)
    elif email is not None:
        domain = email.rpartition("@")[2].lower()
        found = await sso_connections.by_domain(domain)
        if found is None:
            deployment = deployment_provider(settings)
            if deployment is not None and domain in deployment.allowed_domains:
                found = deployment
    if found is None:
        raise SsoNotConfigured()
    return found


async def provider_of(settings: Settings, organization_id: uuid.UUID | None
                      ) -> SsoConnectionRecord:
    """The provider a started sign-in went to (``sso_logins.organization_id``; None: the
    deployment-wide one). raises SsoNotConfigured when it was deleted or unset since."""
    found = (deployment_provider(settings) if organization_id is None
             else await sso_connections.of_organization(organization_id))
    if found is None:
        raise SsoNotConfigured()
    return found


def client_secret(settings: Settings, provider: SsoConnectionRecord) -> str:
    """The client secret to call the provider with: ``OIDC_CLIENT_SECRET`` for the
    deployment-wide provider, else the connection's, decrypted (raises UndecryptableSecret
    when ENCRYPTION_KEY lost its key)."""
    if provider.organization_id is None:
        return settings.oidc_client_secret
    return SecretBox(settings).decrypt(provider.client_secret_encrypted)
