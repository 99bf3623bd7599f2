"""Domain errors. Each has a stable ``code`` (the problem+json ``type`` slug) and a ``detail``
safe to show a client. api.errors maps each class to an HTTP status in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    code = "error"
    detail = "The request could not be completed."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail:
            self.detail = detail


class ValidationFailed(DomainError):
    """Input broke a rule. ``errors``: list of (field, message) pairs."""

    code = "validation_failed"
    detail = "The request is not valid."

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


class EmailTaken(DomainError):
    code = "email_taken"
    detail = "An account with this email address already exists."


class InvalidCredentials(DomainError):
    """Unknown email or wrong password: one error, one body (OWASP ASVS 2.2.1)."""

    code = "invalid_credentials"
    detail = "The email address or password is incorrect."


class EmailNotVerified(DomainError):
    code = "email_not_verified"
    detail = "Verify your email address before signing in."


class AccountDisabled(DomainError):
    code = "account_disabled"
    detail = "This account has been deactivated."


class InvalidOneTimeToken(DomainError):
    """A verification/reset/magic-link token that is unknown, used or of another purpose."""

    code = "invalid_token"
    detail = "The link is invalid or has already been used."


class OneTimeTokenExpired(InvalidOneTimeToken):
    code = "token_expired"
    detail = "The link has expired. Ask for a new one."


class Unauthenticated(DomainError):
    """Missing, malformed, expired or revoked access or refresh token."""

    code = "unauthenticated"
    detail = "Sign in to continue."


class TokenReuseDetected(Unauthenticated):
    """A rotated refresh token was replayed after the grace window; its session is revoked."""

    code = "token_reuse_detected"
    detail = "This refresh token was already used. The session has been ended for your safety."


class NotFound(DomainError):
    code = "not_found"
    detail = "Not found."


class Forbidden(DomainError):
    """Signed in, but this account may not do this (a role check; API.md 403)."""

    code = "forbidden"
    detail = "You are not allowed to do this."


class AuthorizationDenied(Forbidden):
    """Not an active member of the organization asked for, or not the owner of the personal
    profile (API.md POST /v1/auth/context)."""

    code = "authorization_denied"
    detail = "You may not act in this context."


class ReauthenticationRequired(Unauthenticated):
    """The access token's sign-in (``auth_time``) is too old for this step; sign in again
    (OpenID Connect Core §2 ``auth_time``, ``max_age``)."""

    code = "reauthentication_required"
    detail = "Sign in again to do this."


class Conflict(DomainError):
    """The request clashes with the current state (a limit of pending items, the last admin,
    a feature that is off). Subclass with a specific ``code`` per rule."""

    code = "conflict"
    detail = "The request conflicts with the current state."


class TwoFactorNotEnabled(Conflict):
    """The two-factor method named is not on (disable), or none is (new backup codes)."""

    code = "two_factor_not_enabled"
    detail = "Two-factor authentication with this method is not turned on."


class TotpAlreadyEnabled(Conflict):
    """An authenticator app is already active; turn it off before enrolling another."""

    code = "totp_already_enabled"
    detail = "An authenticator app is already set up. Turn it off first to set up another."


class TotpNotPending(Conflict):
    """/totp/verify without an enrolment waiting (never started, or already verified)."""

    code = "totp_not_pending"
    detail = "No authenticator app is waiting to be verified. Start with /totp/enable."


class MobileDisabled(Conflict):
    """Mobile access is off for this account: turn it on before pairing (API.md /v1/mobile)."""

    code = "mobile_disabled"
    detail = "Mobile access is turned off for this account. Turn it on first."


class TooManyPendingTokens(Conflict):
    """Too many unused, unexpired pairing tokens (at most 3; API.md /v1/mobile/pair-token)."""

    code = "too_many_pending"
    detail = "Too many pairing codes are waiting to be used. Use one or let them expire."


class TooManyDevices(Conflict):
    """The account already has the most paired mobile devices allowed (5)."""

    code = "too_many_devices"
    detail = "Too many devices are paired. Unpair one before pairing another."


class LastAdmin(Conflict):
    """The change would leave no active admin (demoting, deactivating or deleting the last
    one); raised inside the transaction that counted the admins, so it is race-free."""

    code = "last_admin"
    detail = "This is the last active admin account; make another admin first."


class LastOwner(Conflict):
    """The change would leave an organization without an owner."""

    code = "last_owner"
    detail = "An organization must keep at least one owner."


class TooManyPendingInvitations(Conflict):
    """The organization has ``MAX_PENDING_INVITATIONS`` pending invitations already."""

    code = "too_many_pending_invitations"
    detail = "Too many pending invitations; revoke some first."


class AlreadyMember(Conflict):
    """The person invited is a member of the organization already (API.md POST
    /v1/organizations/{id}/invitations)."""

    code = "already_member"
    detail = "This person is already a member of the organization."


class NotActiveMember(Conflict):
    """Only active members of an organization may join its teams (API.md
    /v1/organizations/{id}/teams/{teamId}/members)."""

    code = "not_an_active_member"
    detail = "Only active members of the organization can join its teams."


class AlreadyInTeam(Conflict):
    """The person is in the team already; change their role with PATCH instead."""

    code = "already_in_team"
    detail = "This person is already in the team."


class NoPushDevice(Conflict):
    """Push cannot be verified: the account has no registered push device (API.md
    /v1/notifications/verification/send, method push)."""

    code = "no_push_device"
    detail = "Register a push device first: push is verified by a registered device."


class InvalidCode(DomainError):
    """A wrong, used or unknown one-time code (TOTP, SMS, backup, contact code)."""

    code = "invalid_code"
    detail = "The code is incorrect."


class RateLimited(DomainError):
    """Too many requests; ``retry_after``: seconds until one more is allowed. ``limit``
    describes the limit ("register per IP, 5/hour") and ``setting`` names the variable that
    changes it, so an operator or developer knows what they hit (both None for attempts)."""

    code = "rate_limited"
    detail = "Too many requests. Try again later."

    def __init__(self, retry_after: int, *, limit: str | None = None,
                 setting: str | None = None) -> None:
        # the wait is in Retry-After: a body without it stays byte-identical for known and
        # unknown accounts (OWASP ASVS 2.5.1)
        super().__init__(f"Too many requests: {limit}. Try again after Retry-After seconds."
                         if limit else None)
        self.retry_after = max(1, int(retry_after))
        self.limit = limit
        self.setting = setting


class TooManyAttempts(RateLimited):
    """A one-time code was guessed wrong too often and is void (OWASP ASVS 2.8.x)."""

    code = "too_many_attempts"
    detail = "Too many wrong codes. Ask for a new one."

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__(retry_after)


class Overloaded(DomainError):
    """The server cannot start this work in time (password hashing queue full); nothing was
    changed. retry_after: seconds (RFC 9110 §15.6.4, 503 + Retry-After)."""

    code = "overloaded"
    detail = "The server is busy. Try again in a moment."

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__()
        self.retry_after = max(1, int(retry_after))


class MessageNotRetryable(Conflict):
    """An operator's replay of an outbox message that is not failed (pending, sending or
    sent): only a dead letter is sent again."""

    code = "message_not_failed"
    detail = "Only a failed message can be retried."


class DeliveryError(Exception):
    """A channel could not hand a message over. Raised by worker channels."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (connection refused, timeout, SMTP 4xx)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (SMTP 5xx, invalid recipient)."""
