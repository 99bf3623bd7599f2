"""Piccolo tables. All timestamps are UTC; every secret column holds a hash, never the secret."""

from piccolo.columns import (
    JSON,
    UUID,
    Array,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="users"):
    id = UUID(primary_key=True)
    email = Varchar(length=254)
    email_lower = Varchar(length=254, unique=True)  # case-insensitive uniqueness
    password_hash = Varchar(length=100)
    name = Varchar(length=100, null=True, default=None)
    email_verified_at = Timestamptz(null=True, default=None)
    roles = Array(base_column=Varchar(length=32), default=["user"])
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    phone_number = Varchar(length=16, null=True, default=None)  # E.164
    phone_verified_at = Timestamptz(null=True, default=None)
    mobile_enabled = Boolean(default=False)  # may pair mobile devices (API.md /v1/mobile)
    # Two-factor state kept on the row the profile already reads (no extra query per request)
    totp_enabled_at = Timestamptz(null=True, default=None)
    sms_two_factor_phone = Varchar(length=16, null=True, default=None)  # E.164, once verified
    backup_codes_remaining = Integer(default=0)  # kept equal to the unused backup_codes rows
    push_device_count = Integer(default=0)  # kept equal to the push_devices rows
    deleted_at = Timestamptz(null=True, default=None)  # erased: a pseudonymous tombstone
    # Organizations and the active context (issue 13)
    account_type = Varchar(length=16, default="personal")  # personal | organization
    nickname = Varchar(length=100, null=True, default=None)
    avatar_url = Varchar(length=2048, null=True, default=None)  # https only
    personal_profile_id = UUID(null=True, default=None)  # the personal context's id, if any
    last_login_at = Timestamptz(null=True, default=None)
    organization_count = Integer(default=0)  # kept equal to the user's memberships rows
    # Enterprise directory (issue 14): the organization whose SCIM directory owns the profile
    # (name, email, phone are read-only here: API.md Profile ``managedBy``), and whether SCIM
    # created the account (then DELETE from that directory may erase it)
    managed_by_organization_id = UUID(null=True, default=None)
    created_by_scim = Boolean(default=False)


class Session(Table, tablename="sessions"):
    """One sign-in or paired device: the refresh-token family."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16, default="web")  # web | mobile
    amr = Varchar(length=64, default="pwd")  # RFC 8176 methods, space-separated
    device_name = Varchar(length=100, null=True, default=None)
    platform = Varchar(length=32, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)
    ip_address = Varchar(length=45, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    revoked_at = Timestamptz(null=True, default=None)
    revoked_reason = Varchar(length=32, null=True, default=None)
    # The active context (API.md POST /v1/auth/context): every refresh re-issues it
    context_type = Varchar(length=16, null=True, default=None)  # organization | personal
    context_id = UUID(null=True, default=None)
    # when the holder last proved who they are (the access token's auth_time); null: created_at.
    # A session minted from another (POST /v1/mobile/token) inherits it: no renewal by chaining
    auth_time = Timestamptz(null=True, default=None)


class RefreshToken(Table, tablename="refresh_tokens"):
    id = UUID(primary_key=True)
    session_id = ForeignKey(references=Session, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    parent_id = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    rotated_at = Timestamptz(null=True, default=None)


class OneTimeToken(Table, tablename="one_time_tokens"):
    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=32)  # verify_email | reset_password | magic_link | pair_device
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    ip_address = Varchar(length=45, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)
    created_by = UUID(null=True, default=None)  # the session that asked for it (pairing)


class OtpCode(Table, tablename="otp_codes"):
    """A short numeric one-time code: its keyed HMAC, never the code."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=32)
    code_hmac = Varchar(length=64)
    target = Varchar(length=254, null=True, default=None)  # address or E.164 number it went to
    attempts = Integer(default=0)  # wrong guesses so far
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class OutboxMessage(Table, tablename="outbox_messages"):
    """A message to a person, committed with the state change that caused it."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=True, index=True)
    kind = Varchar(length=48)
    channel = Varchar(length=16, default="email")
    recipient = Varchar(length=254)
    data = JSON(default={})  # template data; never a secret
    status = Varchar(length=16, default="pending", index=True)  # pending|sending|sent|failed
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    provider_message_id = Varchar(length=64, null=True, default=None)  # e.g. Twilio's SID
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)


class AuditEvent(Table, tablename="audit_events"):
    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=True, index=True)
    actor_id = UUID(null=True, default=None)  # who acted, when not the user (an admin)
    action = Varchar(length=64)
    ip_address = Varchar(length=45, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)
    metadata = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    # the organization the event concerns; no foreign key: the trail outlives the organization
    organization_id = UUID(null=True, default=None, index=True)


class TotpCredential(Table, tablename="totp_credentials"):
    """An authenticator-app seed, Fernet-encrypted (domain/encryption.py), never raw."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True)
    secret_encrypted = Text(null=True, default=None)  # the active seed
    pending_secret_encrypted = Text(null=True, default=None)  # enrolled, not yet verified
    last_step = Integer(default=0)  # RFC 6238 time step last accepted: no replay
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class BackupCode(Table, tablename="backup_codes"):
    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    code_hmac = Varchar(length=64)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class TwoFactorChallenge(Table, tablename="two_factor_challenges"):
    """A sign-in that proved its first factor and waits for the second."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    first_factor = Varchar(length=16)  # amr value of the first factor: pwd | email | fed
    # the organization the session starts in once answered (single sign-on), if any
    context_id = UUID(null=True, default=None)
    device_name = Varchar(length=100, null=True, default=None)
    attempts = Integer(default=0)  # wrong codes so far
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    ip_address = Varchar(length=45, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)


class PushDevice(Table, tablename="push_devices"):
    """A registered push target; unique on (user_id, device_token) (migration index)."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    platform = Varchar(length=16)  # ios | android | web
    device_token = Varchar(length=512)
    device_name = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())


class NotificationPreference(Table, tablename="notification_preferences"):
    """One channel of a user's preference list; unique on (user_id, channel)."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    channel = Varchar(length=16)  # email | sms | push | slack | voice
    enabled = Boolean(default=True)
    priority = Integer(default=1)  # 1 first


class Organization(Table, tablename="organizations"):
    """A tenant: a business whose people are its members (API.md Organization)."""

    id = UUID(primary_key=True)
    name = Varchar(length=200)
    legal_business_name = Varchar(length=200, null=True, default=None)
    dba_name = Varchar(length=200, null=True, default=None)
    contact_email = Varchar(length=254)
    timezone = Varchar(length=64, default="UTC")  # IANA zone name
    created_by = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Membership(Table, tablename="memberships"):
    """A person in an organization; unique on (organization_id, user_id) (migration index)."""

    id = UUID(primary_key=True)
    organization_id = ForeignKey(references=Organization, on_delete=OnDelete.cascade, index=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=16, default="member")  # owner | admin | member
    status = Varchar(length=16, default="active")  # active | suspended
    # SCIM (RFC 7643 §3.1 externalId, §4.1.1 userName) as this organization's directory sent
    # them; unique per organization (migration index). Null: not provisioned by SCIM
    scim_external_id = Varchar(length=255, null=True, default=None)
    scim_user_name = Varchar(length=255, null=True, default=None)
    # the directory's attributes latchkey does not model (name.givenName, title, ...), kept
    # so a SCIM client reads back what it wrote (RFC 7644 §3.5.1 replace semantics)
    scim_attributes = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())  # joinedAt
    updated_at = Timestamptz(default=TimestamptzNow())


class Invitation(Table, tablename="invitations"):
    """An invitation to join an organization. The worker mints its token when it sends the
    email; only the SHA-256 is kept (token_hash null until then)."""

    id = UUID(primary_key=True)
    organization_id = ForeignKey(references=Organization, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=254)
    email_lower = Varchar(length=254, index=True)
    role = Varchar(length=16, default="member")
    invited_by = UUID(null=True, default=None)
    token_hash = Varchar(length=64, null=True, default=None, unique=True)
    expires_at = Timestamptz(null=True, default=None)  # set with the token
    accepted_at = Timestamptz(null=True, default=None)
    accepted_by = UUID(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class Team(Table, tablename="teams"):
    """A group of an organization's members (OnCall); SCIM Groups map to these."""

    id = UUID(primary_key=True)
    organization_id = ForeignKey(references=Organization, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200)
    description = Varchar(length=1000, null=True, default=None)
    is_active = Boolean(default=True)
    scim_external_id = Varchar(length=255, null=True, default=None)  # SCIM Group externalId
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TeamMembership(Table, tablename="team_memberships"):
    """A member of a team; unique on (team_id, user_id) (migration index)."""

    id = UUID(primary_key=True)
    team_id = ForeignKey(references=Team, on_delete=OnDelete.cascade, index=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=16, default="member")  # lead | member
    created_at = Timestamptz(default=TimestamptzNow())


class SsoConnection(Table, tablename="sso_connections"):
    """An organization's OpenID Connect identity provider (one per organization)."""

    id = UUID(primary_key=True)
    organization_id = ForeignKey(references=Organization, on_delete=OnDelete.cascade,
                                 unique=True)
    issuer = Varchar(length=500)  # exactly as the provider's discovery document says it
    client_id = Varchar(length=255)
    client_secret_encrypted = Text()  # Fernet (domain/encryption.py), never raw
    trust_provider_mfa = Boolean(default=False)  # its ID token's amr may stand in for 2FA
    jit_provisioning = Boolean(default=True)  # first sign-in creates the account
    created_by = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class SsoDomain(Table, tablename="sso_domains"):
    """An email domain an organization's connection answers for (``allowedDomains``); one
    organization per domain, so ``/sso/start?email=`` finds exactly one provider."""

    id = UUID(primary_key=True)
    connection_id = ForeignKey(references=SsoConnection, on_delete=OnDelete.cascade,
                               index=True)
    domain = Varchar(length=253, unique=True)  # lower case, no leading @
    # when the operator confirmed the organization owns the domain (python -m
    # scripts.sso_domain verify); until then its provider may not create accounts in it, link
    # existing ones by email or vouch for their addresses, and ?email= does not route to it
    verified_at = Timestamptz(null=True, default=None)


class IdentityLink(Table, tablename="identity_links"):
    """An account's identity at a provider: unique on (issuer, subject) (migration index).
    OIDC Core §5.7: only ``iss`` + ``sub`` identify a person, never the email claim."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    issuer = Varchar(length=500)
    subject = Varchar(length=255)
    organization_id = UUID(null=True, default=None)  # whose connection; null: OIDC_* settings
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(default=TimestamptzNow())


class SsoLogin(Table, tablename="sso_logins"):
    """One single sign-on attempt: the ``state`` it started with (10 min, single use) and the
    one-time code the callback hands the app (60 s, single use). Both stored as SHA-256;
    the nonce and PKCE verifier are derived from the state with a keyed HMAC, never stored."""

    id = UUID(primary_key=True)
    state_hash = Varchar(length=64, unique=True)
    organization_id = UUID(null=True, default=None)  # null: the deployment-wide provider
    redirect_to = Varchar(length=2048)
    expires_at = Timestamptz(index=True)
    state_used_at = Timestamptz(null=True, default=None)
    user_id = UUID(null=True, default=None)  # set by the callback
    code_hash = Varchar(length=64, null=True, default=None, unique=True)
    code_expires_at = Timestamptz(null=True, default=None)
    code_used_at = Timestamptz(null=True, default=None)
    provider_mfa = Boolean(default=False)  # a trusted provider's amr showed a second factor
    ip_address = Varchar(length=45, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ScimToken(Table, tablename="scim_tokens"):
    """A bearer token of an organization's SCIM client (its SHA-256; shown once)."""

    id = UUID(primary_key=True)
    organization_id = ForeignKey(references=Organization, on_delete=OnDelete.cascade,
                                 index=True)
    token_hash = Varchar(length=64, unique=True)
    description = Varchar(length=200, null=True, default=None)
    created_by = UUID(null=True, default=None)  # null: the CLI
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


TABLES: tuple[type[Table], ...] = (User, Session, RefreshToken, OneTimeToken, OtpCode,
                                   OutboxMessage, AuditEvent, TotpCredential, BackupCode,
                                   TwoFactorChallenge, PushDevice, NotificationPreference,
                                   Organization, Membership, Invitation, Team, TeamMembership,
                                   SsoConnection, SsoDomain, IdentityLink, SsoLogin, ScimToken)
