"""Which account an identity provider's person signs in to (issue 14, "never take over an
account by an unverified claim"):

1. the account linked to (issuer, sub) — whatever the email claim says now;
2. else the account with the same email, only when the provider says ``email_verified``, the
   domain is one the connection answers for AND the operator verified the organization owns
   (``sso_domains.verified_at``; the deployment-wide provider's are), and, for an
   organization's connection, the account is already its member (see ``_may_link``): it is
   linked (``auth.identity.linked``);
3. else a new account (just-in-time) when the connection allows it, on the same conditions.
Without domain verification an organization could name ``gmail.com`` and have its own
provider create, or sign in to, accounts of addresses it does not own.

For an organization's connection the account must be an active member of it, or becomes one
(role member) when it was linked or created just now and just-in-time provisioning is on.
Everything happens in the caller's unit of work: a refusal changes nothing.
"""

from __future__ import annotations

import uuid

from db.repositories import identity_links, memberships, users
from domain.accounts.emails import normalize_email
from domain.contacts import preferences
from domain.directory.errors import (
    AccountNotProvisioned,
    DomainNotAllowed,
    DomainNotVerified,
    EmailNotVerifiedByProvider,
    InvalidIdToken,
)
from domain.directory.id_tokens import IdTokenClaims
from domain.errors import AccountDisabled, AuthorizationDenied, DomainError, ValidationFailed
from domain.names import AuditAction, MembershipStatus, OrganizationRole
from domain.records import SsoConnectionRecord, UserRecord
from domain.unit_of_work import UnitOfWork

LINKED, BY_EMAIL, CREATED = "link", "email", "created"


def about(error: DomainError, user_id: uuid.UUID) -> DomainError:
    """``error``, noting the account it concerns (for the audit event of the failure)."""
    error.user_id = user_id  # type: ignore[attr-defined]
    return error


async def account_for(uow: UnitOfWork, provider: SsoConnectionRecord, claims: IdTokenClaims, *,
                      unusable_password: str | None, default_role: str
                      ) -> tuple[UserRecord, str]:
    """(the account, how it was found: ``link`` | ``email`` | ``created``), linked, verified
    and a member as the rules above say. unusable_password: a bcrypt hash of a random token,
    for a created account and for an unverified one linked by email (its password was
    chosen by whoever registered the address: pre-account hijacking). raises
    EmailNotVerifiedByProvider, DomainNotAllowed, AccountNotProvisioned, AccountDisabled,
    AuthorizationDenied (a suspended member)."""
    link = await identity_links.find(claims.issuer, claims.subject)
    user = None if link is None else await users.get_by_id(link.user_id)
    if link is not None and user is None:
        # its account was erased (before erasure took links along): forget it, and let the
        # person in by the rules below, as if new (unassigned, then assigned again)
        await identity_links.delete(link.id)
        link = None
    if link is not None and user is not None:
        how = LINKED
        await identity_links.touch(link.id, uow.now)
    else:
        email = allowed_email(provider, claims)
        user, how = await users.get_by_email(email), BY_EMAIL
        if user is None and provider.jit_provisioning and unusable_password is not None:
            user, how = await _create(uow, email, claims, unusable_password, default_role), \
                CREATED
        if user is None:
            raise AccountNotProvisioned()
        if how == BY_EMAIL:
            await _may_link(provider, user)
        await identity_links.insert(user_id=user.id, issuer=claims.issuer,
                                    subject=claims.subject,
                                    organization_id=provider.organization_id, now=uow.now)
        uow.audit(AuditAction.IDENTITY_LINKED, user.id, organization_id=provider.organization_id,
                  issuer=claims.issuer, via=how)
    if not user.is_active:
        raise about(AccountDisabled(), user.id)
    await _verify_email(uow, provider, claims, user, how, unusable_password)
    if provider.organization_id is not None:
        await _membership(uow, provider, user, joined_now=how != LINKED)
    return user, how


async def _may_link(provider: SsoConnectionRecord, user: UserRecord) -> None:
    """An existing account is linked by email to an organization's provider only when it is
    already that organization's member. ``allowedDomains`` is what an organization says of
    itself, not a proof that it owns the domain: anyone can create an organization, connect a
    provider of their own for ``gmail.com`` and have it vouch for ``victim@gmail.com``. So an
    account that never joined (by invitation, or by the directory's SCIM) is never taken
    over this way; the person signs in as before and joins by invitation. The deployment-wide
    provider (``OIDC_*``, set by the operator) is trusted for its domains."""
    if provider.organization_id is None:
        return
    membership = await memberships.get(provider.organization_id, user.id)
    if membership is None:
        raise about(AccountNotProvisioned(
            "An account with this email address exists and is not a member of this "
            "organization. Sign in to it as usual and accept an invitation to join."), user.id)


def allowed_email(provider: SsoConnectionRecord, claims: IdTokenClaims) -> str:
    """The claimed email, when the provider verified it and its domain is allowed.
    raises EmailNotVerifiedByProvider, DomainNotAllowed."""
    if claims.email is None or not claims.email_verified:
        raise EmailNotVerifiedByProvider()
    try:  # the claim is the provider's text: trimmed, checked, 254 characters at most
        email = normalize_email(claims.email)
    except ValidationFailed:
        raise InvalidIdToken("The ID token's email claim is not an email address.") from None
    domain = email.rpartition("@")[2]
    if domain not in provider.allowed_domains:
        raise DomainNotAllowed()
    if domain not in provider.verified_domains:  # an organization's word is not proof
        raise DomainNotVerified()
    return email


async def _create(uow: UnitOfWork, email: str, claims: IdTokenClaims, password_hash: str,
                  default_role: str) -> UserRecord:
    """A personal account, its email verified by the provider, with an unusable password
    (sign in through the provider or a magic link) and the default notification list."""
    user = await users.insert(email=email, password_hash=password_hash, name=claims.name,
                              now=uow.now, roles=[default_role], verified=True,
                              personal_profile_id=uuid.uuid4())
    await preferences.start(user.id)
    uow.audit(AuditAction.REGISTERED, user.id, account_type=user.account_type, via="sso",
              issuer=claims.issuer)
    return user


async def _verify_email(uow: UnitOfWork, provider: SsoConnectionRecord,
                        claims: IdTokenClaims, user: UserRecord, how: str,
                        unusable_password: str | None) -> None:
    """Mark the account's address verified when it is the one the provider verified, in an
    allowed domain; an unverified account linked by email loses its password too."""
    if user.email_verified_at is not None or claims.email is None \
            or claims.email.lower() != user.email.lower():
        return
    try:
        allowed_email(provider, claims)
    except DomainError:
        return
    if await users.mark_email_verified(user.id, uow.now):
        cleared = how == BY_EMAIL and unusable_password is not None
        if cleared:
            await users.set_password_hash(user.id, unusable_password, uow.now)  # type: ignore[arg-type]
        uow.audit(AuditAction.EMAIL_VERIFIED, user.id, via="sso", password_cleared=cleared)


async def _membership(uow: UnitOfWork, provider: SsoConnectionRecord, user: UserRecord, *,
                      joined_now: bool) -> None:
    organization_id = provider.organization_id
    assert organization_id is not None
    membership = await memberships.get(organization_id, user.id, for_update=True)
    if membership is None:
        if not (joined_now and provider.jit_provisioning):
            raise about(AccountNotProvisioned(), user.id)
        await memberships.add(organization_id=organization_id, user_id=user.id,
                              role=OrganizationRole.MEMBER.value, now=uow.now)
        uow.audit(AuditAction.MEMBER_ADDED, user.id, organization_id=organization_id,
                  role=OrganizationRole.MEMBER.value, via="sso")
    elif membership.status != MembershipStatus.ACTIVE:
        raise about(AuthorizationDenied("Your membership of this organization is suspended."),
                    user.id)
