"""The callback of a single sign-on (API.md GET /v1/auth/sso/callback).

Order matters: the ``state`` is used up first, in one conditional UPDATE, so a replayed
callback fails whatever else it carries; then the code is exchanged and the ID token checked,
with no database transaction open during those HTTP calls; then one unit of work finds or
makes the account (``linking``), hands the sign-in a one-time code and audits it. Every
failure is audited (``auth.sso.failed``, reason = the problem type) in a transaction of its
own, so the event stays although the request fails and nothing else changed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from db.engine import is_unique_violation
from db.repositories import identity_links, sso_logins, users
from domain.directory import linking
from domain.directory.errors import (
    InvalidState,
    ProviderError,
    ProviderUnavailable,
    SsoFailed,
)
from domain.directory.id_tokens import IdTokenClaims
from domain.directory.providers import client_secret, provider_of
from domain.directory.sso import derived_secret, with_code
from domain.encryption import UndecryptableSecret
from domain.errors import AccountDisabled, AuthorizationDenied, DomainError
from domain.names import AuditAction
from domain.records import SsoConnectionRecord, SsoLoginRecord
from domain.services import RequestInfo, Services
from domain.tokens import hash_token, new_opaque_token

log = logging.getLogger("latchkey.sso")
FAILURES = (SsoFailed, ProviderUnavailable, AccountDisabled, AuthorizationDenied)


async def finish_sso(svc: Services, *, state: str | None, code: str | None,
                     error: str | None, info: RequestInfo) -> str:
    """Complete the sign-in of ``state`` with the provider's ``code`` (or its ``error``);
    returns the app's ``redirectTo`` with a one-time ``code`` (``SSO_CODE_TTL`` s).

    raises InvalidState (missing, unknown, used, expired), ProviderError (the provider's
    ``error=...``, or it refused the code), ProviderUnavailable (502), the ID token errors
    (InvalidSignature, InvalidAudience, InvalidIssuer, IdTokenExpired, NonceMismatch,
    InvalidIdToken), EmailNotVerifiedByProvider, DomainNotAllowed, AccountNotProvisioned,
    SsoNotConfigured (the connection was deleted meanwhile), AccountDisabled (403),
    AuthorizationDenied (403: a suspended member)."""
    login: SsoLoginRecord | None = None
    provider: SsoConnectionRecord | None = None
    try:
        if not state:
            raise InvalidState()
        login = await sso_logins.use_state(hash_token(state), svc.clock())
        if login is None:
            raise InvalidState()
        provider = await provider_of(svc.settings, login.organization_id)
        if error is not None or not code:
            raise ProviderError()
        claims = await _claims(svc, provider, state, code)
        return await _complete(svc, login, provider, claims, info)
    except FAILURES as failure:
        await _audit_failure(svc, failure, provider, login, error, info)
        raise


async def _claims(svc: Services, provider: SsoConnectionRecord, state: str, code: str
                  ) -> IdTokenClaims:
    try:
        secret = client_secret(svc.settings, provider)
    except UndecryptableSecret:  # ENCRYPTION_KEY lost the key it was saved with
        log.error("the client secret of the identity provider %s does not decrypt with "
                  "ENCRYPTION_KEY; save the connection again", provider.issuer)
        raise ProviderUnavailable() from None
    return await svc.identity_providers.sign_in(
        issuer=provider.issuer, client_id=provider.client_id, client_secret=secret, code=code,
        redirect_uri=svc.settings.sso_redirect_uri,
        code_verifier=derived_secret(svc.settings, state, "pkce"),
        nonce=derived_secret(svc.settings, state, "nonce"))


async def _complete(svc: Services, login: SsoLoginRecord, provider: SsoConnectionRecord,
                    claims: IdTokenClaims, info: RequestInfo) -> str:
    # The unusable password of an account this first sign-in may create, hashed before the
    # transaction (bcrypt must not hold SQLite's write lock)
    unusable = None
    link = await identity_links.find(claims.issuer, claims.subject)
    if link is None or await users.get_by_id(link.user_id) is None:
        unusable = await svc.hasher.hash(new_opaque_token())
    code = new_opaque_token()
    trusted_mfa = provider.trust_provider_mfa and claims.shows_second_factor
    for attempt in (1, 2):
        try:
            async with svc.unit_of_work(info) as uow:
                user, how = await linking.account_for(uow, provider, claims,
                                                      unusable_password=unusable,
                                                      default_role=svc.settings.default_role)
                # the provider's MFA stands in for latchkey's only on an identity linked
                # before: the sign-in that links an existing account answers latchkey's own
                provider_mfa = trusted_mfa and how != linking.BY_EMAIL
                await sso_logins.set_code(
                    login.id, user_id=user.id, code_hash=hash_token(code),
                    provider_mfa=provider_mfa,
                    code_expires_at=uow.now + timedelta(seconds=svc.settings.sso_code_ttl))
                uow.audit(AuditAction.SSO_SUCCEEDED, user.id,
                          organization_id=provider.organization_id, issuer=provider.issuer,
                          account=how, providerMfa=provider_mfa)
            break
        except Exception as exc:
            # Two first sign-ins of one person at once (two tabs): the other one linked or
            # created the account between our lookup and our insert; the unique index refused
            # ours and rolled it back. Once more finds what it made (no 500 for a double click)
            if attempt == 2 or not is_unique_violation(exc):
                raise
    return with_code(login.redirect_to, code)


async def _audit_failure(svc: Services, failure: DomainError,
                         provider: SsoConnectionRecord | None, login: SsoLoginRecord | None,
                         provider_error: str | None, info: RequestInfo) -> None:
    metadata: dict[str, object] = {"reason": failure.code}
    if provider is not None:
        metadata["issuer"] = provider.issuer
    if provider_error is not None:  # the provider's OAuth error code, kept short and plain
        metadata["providerError"] = "".join(c for c in provider_error[:64]
                                            if c.isalnum() or c in "_-.")
    async with svc.unit_of_work(info) as uow:
        uow.audit(AuditAction.SSO_FAILED, getattr(failure, "user_id", None),
                  organization_id=login.organization_id if login else None, **metadata)
