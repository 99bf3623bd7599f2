"""Typed names used across tables, code, logs and the API: one name per concept.

The string values are what the database stores and what clients see (audit ``action``,
``revoked_reason``), so they never change once released; add members, do not rename them.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """``audit_events.action``: dotted, ``<area>.<object>.<what happened>`` (API.md Event)."""

    REGISTERED = "auth.register"
    EMAIL_VERIFIED = "auth.email.verified"
    SIGNIN_SUCCEEDED = "auth.signin.succeeded"
    SIGNIN_FAILED = "auth.signin.failed"
    LOCKOUT_STARTED = "auth.lockout.started"
    LOCKOUT_ENDED = "auth.lockout.ended"
    REFRESH_REUSE_DETECTED = "auth.refresh.reuse_detected"
    SIGNED_OUT = "auth.signout"
    SESSION_REVOKED = "auth.session.revoked"
    PASSWORD_RESET_REQUESTED = "auth.password.reset_requested"
    PASSWORD_RESET_COMPLETED = "auth.password.reset_completed"
    PASSWORD_CHANGED = "auth.password.changed"
    REAUTH_FAILED = "auth.reauth.failed"  # a wrong current password on a sensitive change
    MAGIC_LINK_REQUESTED = "auth.magic_link.requested"
    TWO_FACTOR_ENABLED = "auth.two_factor.enabled"  # metadata: method
    TWO_FACTOR_DISABLED = "auth.two_factor.disabled"  # metadata: method
    TWO_FACTOR_CHALLENGE_FAILED = "auth.two_factor.failed"  # a wrong second-factor code
    TOTP_REPLAY_REFUSED = "auth.two_factor.replay_refused"  # a TOTP step used twice
    BACKUP_CODES_REGENERATED = "auth.backup_codes.regenerated"
    BACKUP_CODE_USED = "auth.backup_codes.used"  # metadata: remaining
    USER_UPDATED = "user.updated"
    USER_ROLE_CHANGED = "user.role.changed"  # actor_id: the admin
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    CONTACT_CODE_SENT = "contact.code.sent"  # metadata: method, masked value
    CONTACT_VERIFIED = "contact.verified"
    PREFERENCES_UPDATED = "notifications.preferences.updated"
    DEVICE_REGISTERED = "device.registered"
    DEVICE_UNREGISTERED = "device.unregistered"
    MOBILE_ENABLED = "mobile.enabled"
    MOBILE_DISABLED = "mobile.disabled"
    PAIRING_TOKEN_CREATED = "mobile.pairing_token.created"
    DEVICE_PAIRED = "mobile.device.paired"
    MESSAGES_LISTED = "admin.messages.listed"  # actor_id: the admin; metadata: status, count
    MESSAGE_RETRIED = "admin.message.retried"  # actor_id: the admin (None: the CLI)
    # Organizations (issue 13): user_id is the target person, actor_id who acted, and the
    # event's organization_id the organization (GET /v1/organizations/{id}/events)
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_UPDATED = "organization.updated"
    ORGANIZATION_DELETED = "organization.deleted"
    MEMBER_ADDED = "organization.member.added"
    MEMBER_ROLE_CHANGED = "organization.member.role_changed"
    MEMBER_REMOVED = "organization.member.removed"  # metadata: left (self) or removed
    MEMBER_SUSPENDED = "organization.member.suspended"
    MEMBER_REACTIVATED = "organization.member.reactivated"
    INVITATION_SENT = "organization.invitation.sent"
    INVITATION_ACCEPTED = "organization.invitation.accepted"
    INVITATION_REVOKED = "organization.invitation.revoked"
    TEAM_CREATED = "organization.team.created"
    TEAM_UPDATED = "organization.team.updated"
    TEAM_DEACTIVATED = "organization.team.deactivated"
    TEAM_MEMBER_ADDED = "organization.team.member_added"
    TEAM_MEMBER_REMOVED = "organization.team.member_removed"
    TEAM_MEMBER_ROLE_CHANGED = "organization.team.member_role_changed"  # metadata: role, previous
    CONTEXT_SWITCHED = "auth.context.switched"  # metadata: contextType, contextId
    MOBILE_TOKEN_ISSUED = "mobile.token.issued"  # POST /v1/mobile/token
    # Enterprise directory (issue 14). SSO: metadata issuer, reason (the problem type);
    # SCIM: actor_id is the SCIM token's id, metadata scimToken too
    SSO_CONNECTION_CREATED = "organization.sso.created"
    SSO_CONNECTION_UPDATED = "organization.sso.updated"
    SSO_CONNECTION_DELETED = "organization.sso.deleted"
    SSO_DOMAIN_VERIFIED = "organization.sso.domain_verified"  # by the operator (CLI)
    SSO_DOMAIN_UNVERIFIED = "organization.sso.domain_unverified"
    SSO_SUCCEEDED = "auth.sso.succeeded"  # the callback found or made the account
    SSO_FAILED = "auth.sso.failed"  # metadata: reason (problem type), issuer
    IDENTITY_LINKED = "auth.identity.linked"  # an account linked to (issuer, sub)
    SCIM_TOKEN_CREATED = "organization.scim_token.created"
    SCIM_TOKEN_REVOKED = "organization.scim_token.revoked"
    SCIM_USER_CREATED = "scim.user.created"
    SCIM_USER_UPDATED = "scim.user.updated"  # metadata: fields
    SCIM_USER_DEACTIVATED = "scim.user.deactivated"
    SCIM_USER_REACTIVATED = "scim.user.reactivated"
    SCIM_USER_DELETED = "scim.user.deleted"  # metadata: erased (the account went too)
    SCIM_GROUP_CREATED = "scim.group.created"
    SCIM_GROUP_UPDATED = "scim.group.updated"
    SCIM_GROUP_DELETED = "scim.group.deleted"


class RevokeReason(StrEnum):
    """``sessions.revoked_reason``: why a session (token family) ended."""

    SIGNOUT = "signout"
    REVOKED = "revoked"  # by its owner from the session list
    TOKEN_REUSE = "token_reuse"  # RFC 9700 §4.14.2 reuse detection
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    DEACTIVATED = "deactivated"  # an admin (or the organization's directory) deactivated it
    MOBILE_DISABLED = "mobile_disabled"  # its owner turned mobile access off


class RateLimit(StrEnum):
    """Rate-limit names; each reads ``Settings.rate_limit_<name>`` ("20/minute").
    Per client IP unless the name says per account."""

    REGISTER = "register"
    SIGNIN = "signin"
    REFRESH = "refresh"
    PASSWORD_FORGOT = "password_forgot"
    VERIFY_EMAIL_RESEND = "verify_email_resend"
    TOKEN = "token"  # verify-email and password/reset: guessing one-time tokens
    PASSWORD_FORGOT_PER_ACCOUNT = "password_forgot_per_account"
    VERIFY_EMAIL_RESEND_PER_ACCOUNT = "verify_email_resend_per_account"
    REAUTH_PER_SESSION = "reauth_per_session"  # current-password checks (re-authentication)
    MAGIC_LINK = "magic_link"
    MAGIC_LINK_PER_ACCOUNT = "magic_link_per_account"  # per address, known or not
    SMS = "sms"
    SMS_PER_ACCOUNT = "sms_per_account"
    SMS_PER_NUMBER = "sms_per_number"  # SMS pumping: codes to one phone number
    TWO_FACTOR = "two_factor"
    CONTACT_CODE_PER_ACCOUNT = "contact_code_per_account"
    PAIR_TOKEN_PER_ACCOUNT = "pair_token_per_account"
    PAIR = "pair"
    CONTEXT = "context"  # POST /v1/auth/context per IP
    INVITATION_PER_ORGANIZATION = "invitation_per_organization"
    # one account cannot multiply the per-organization limit by creating organizations
    INVITATION_PER_ACCOUNT = "invitation_per_account"
    ORGANIZATION_PER_ACCOUNT = "organization_per_account"  # organizations created
    SSO = "sso"  # /v1/auth/sso/* per IP
    SCIM_PER_TOKEN = "scim_per_token"  # every /scim/v2 request of one SCIM token

    def describe(self) -> str:
        """"register per IP", "password forgot per account" — as a person reads it."""
        for suffix, whom in (("_per_account", "per account"), ("_per_session", "per session"),
                             ("_per_number", "per phone number"),
                             ("_per_organization", "per organization"),
                             ("_per_token", "per SCIM token")):
            if self.value.endswith(suffix):
                return f"{self.value.removesuffix(suffix).replace('_', ' ')} {whom}"
        return f"{self.value.replace('_', ' ')} per IP"


class Role(StrEnum):
    """The global roles latchkey itself acts on (``users.roles``); ``ROLES`` may allow more
    (the agency app's ``manager``, ...), which latchkey only carries in the access token.
    Checked in one place, ``domain.users.access``."""

    ADMIN = "admin"
    USER = "user"


class AccountType(StrEnum):
    """``users.account_type``, chosen at sign-up (API.md POST /v1/auth/register)."""

    PERSONAL = "personal"
    ORGANIZATION = "organization"


class OrganizationRole(StrEnum):
    """``memberships.role``: an organization keeps at least one owner."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


MANAGERS = (OrganizationRole.OWNER, OrganizationRole.ADMIN)  # may change the organization


class MembershipStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class TeamRole(StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class ContextType(StrEnum):
    """The active context's ``ctx.type`` claim (API.md POST /v1/auth/context)."""

    ORGANIZATION = "organization"
    PERSONAL = "personal"


class SessionKind(StrEnum):
    """``sessions.kind`` (API.md Session)."""

    WEB = "web"
    MOBILE = "mobile"


class AuthMethod(StrEnum):
    """Authentication method references for the ``amr`` claim (RFC 8176 §2)."""

    PASSWORD = "pwd"
    ONE_TIME_PASSWORD = "otp"
    MULTI_FACTOR = "mfa"
    SMS = "sms"
    FEDERATED = "fed"
    EMAIL = "email"  # a magic link: proof of control of the address (not in RFC 8176)
    BACKUP_CODE = "backup"  # a recovery code (not in RFC 8176)
