"""Errors of single sign-on and the directory. Each failure of a sign-in through an identity
provider is a 400 problem+json whose ``type`` says which check failed (issue 14); api.errors
maps these classes with the others, in one place."""

from __future__ import annotations

from domain.errors import Conflict, DomainError


class SsoFailed(DomainError):
    """A single sign-on attempt was refused; nothing about any account changed."""

    code = "sso_failed"
    detail = "Single sign-on failed. Start again."


class SsoNotConfigured(SsoFailed):
    """No identity provider answers for the organization or the email's domain."""

    code = "sso_not_configured"
    detail = "Single sign-on is not set up for this organization or email domain."


class RedirectNotAllowed(SsoFailed):
    """``redirectTo`` is not one of ``SSO_ALLOWED_REDIRECTS`` (an open redirect)."""

    code = "redirect_not_allowed"
    detail = "redirectTo is not an allowed address (SSO_ALLOWED_REDIRECTS)."


class InvalidState(SsoFailed):
    """``state`` missing, unknown, expired or used already (a replayed callback)."""

    code = "invalid_state"
    detail = "This sign-in attempt is unknown, expired or already used. Start again."


class ProviderError(SsoFailed):
    """The provider answered with an OAuth error (``error=access_denied``, a refused code)."""

    code = "provider_error"
    detail = "The identity provider refused the sign-in."


class InvalidIdToken(SsoFailed):
    """The ID token broke a rule of OIDC Core §3.1.3.7 (a claim missing, ``iat`` in the
    future, an algorithm outside the allow-list)."""

    code = "invalid_id_token"
    detail = "The identity provider's ID token is not valid."


class InvalidSignature(InvalidIdToken):
    """Not signed by a key of the provider's JWKS (even after fetching it again)."""

    code = "invalid_signature"
    detail = "The ID token's signature does not verify with the provider's keys."


class InvalidIssuer(InvalidIdToken):
    code = "invalid_issuer"
    detail = "The ID token was issued by another provider."


class InvalidAudience(InvalidIdToken):
    code = "invalid_audience"
    detail = "The ID token was issued to another client."


class IdTokenExpired(InvalidIdToken):
    code = "id_token_expired"
    detail = "The ID token has expired."


class NonceMismatch(InvalidIdToken):
    """The ID token's ``nonce`` is not this attempt's (a replayed or injected token)."""

    code = "nonce_mismatch"
    detail = "The ID token does not belong to this sign-in attempt."


class EmailNotVerifiedByProvider(SsoFailed):
    """No linked identity, and the provider does not say the email is verified: never link
    or create an account on an unverified claim."""

    code = "sso_email_unverified"
    detail = "The identity provider has not verified this email address."


class DomainNotAllowed(SsoFailed):
    """No linked identity, and the email's domain is not one the connection answers for."""

    code = "sso_domain_not_allowed"
    detail = "This email domain is not allowed for this identity provider."


class DomainNotVerified(SsoFailed):
    """No linked identity, and the email's domain is allowed but not verified as the
    organization's: its provider may not create accounts there or vouch for addresses."""

    code = "sso_domain_not_verified"
    detail = ("This email domain is not verified for your organization yet; until the operator "
              "verifies it, only people already linked can sign in this way.")


class AccountNotProvisioned(SsoFailed):
    """No linked or linkable account, and just-in-time creation is off."""

    code = "account_not_provisioned"
    detail = "No account exists for you here yet. Ask your administrator to provision it."


class ProviderUnavailable(DomainError):
    """The provider did not answer in ``OIDC_HTTP_TIMEOUT`` s, or answered 5xx: 502."""

    code = "provider_unavailable"
    detail = "The identity provider is not reachable. Try again later."


class ManagedExternally(Conflict):
    """A change to profile fields the organization's directory owns (issue 14: "update it in
    Okta"). fields: the API names refused."""

    code = "managed_externally"

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"{', '.join(fields)} {'is' if len(fields) == 1 else 'are'} managed "
                         "by your organization's directory; change them there.")
        self.fields = fields


class DomainTaken(Conflict):
    """An email domain is already answered for by another organization's connection."""

    code = "domain_taken"

    def __init__(self, domain: str) -> None:
        super().__init__(f"{domain} is already used by another organization's single sign-on.")
        self.domain = domain


class SsoConnectionExists(Conflict):
    code = "sso_connection_exists"
    detail = "This organization already has an identity provider; update or delete it."
