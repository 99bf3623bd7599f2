"""Typed settings, read once from the environment at process start and passed down.

Every knob is an environment variable; README.md lists them with defaults. Only the entry
points (through ``scripts.bootstrap.settings_or_exit``) call :func:`Settings.from_env`.

Safe by default: ``ENVIRONMENT`` defaults to production, where the processes refuse to start
without real secrets; ``scripts/dev`` and ``scripts/test`` set development / test explicitly.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///var/latchkey.sqlite3"
DEV_SECRET = "latchkey-development-only-secret-do-not-use-in-production"
ENVIRONMENTS = ("development", "test", "production")
SMTP_TLS_MODES = ("none", "starttls", "tls")
RATE_RE = re.compile(r"^\d+/(\d+ ?)?(second|minute|hour|day)s?$")
MIN_SECRET_BYTES = 32  # OWASP ASVS 6.4.1: keys with at least 256 bits of entropy
SECRETS = ("jwt_secret", "password_pepper", "encryption_key")
HOSTED_PAGES_MODES = ("auto", "on", "off")
LOG_FORMATS = ("", "json", "console")  # "": JSON in production, console elsewhere
MIN_METRICS_TOKEN = 16
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingsError(ValueError):
    """Raised when the environment does not describe a usable configuration."""


@dataclass(frozen=True, slots=True)
class Settings:
    """All runtime configuration. Durations are in seconds.

    Source: environment variables named like the field in upper case (``JWT_SECRET`` ...).
    """

    environment: str = "production"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: str = field(default=DEV_SECRET, repr=False)
    jwt_issuer: str = "latchkey"
    jwt_audience: str = "latchkey"
    app_url: str = "http://localhost:8000"
    mail_from: str = "latchkey <no-reply@latchkey.localhost>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_tls: str = "none"
    smtp_timeout: float = 10.0
    smtp_pool_size: int = 4
    bcrypt_rounds: int = 12
    password_pepper: str = field(default=DEV_SECRET, repr=False)
    encryption_key: str = field(default=DEV_SECRET, repr=False)  # secrets at rest (TOTP)
    password_min_length: int = 12
    password_min_strength: int = 3  # zxcvbn score 0..4 a new password must reach
    access_token_ttl: int = 900
    refresh_token_ttl: int = 7 * 86400  # idle timeout: a session unused this long ends
    session_max_lifetime: int = 30 * 86400  # absolute: no session outlives this
    email_verification_ttl: int = 86400
    password_reset_ttl: int = 3600
    new_device_window: int = 90 * 86400  # a device unseen this long counts as new
    refresh_reuse_grace: int = 10
    arq_poll_delay: float = 0.005
    delivery_max_tries: int = 12  # base 1 s: tries at 0, 1, 3, 7 ... 511, 811, 1111 s (18.5 min)
    delivery_retry_base: float = 1.0
    outbox_sweep_after: int = 30
    sent_message_retention: int = 30 * 86400
    cleanup_batch_size: int = 2000
    cleanup_cron_minute: int = 17  # the hourly cleanup's minute; -1: every minute
    cleanup_cron_second: int = 5
    cleanup_pause: float = 0.02
    max_body_bytes: int = 64 * 1024
    cors_origins: str = ""  # comma-separated exact origins allowed to call with credentials
    hosted_pages: str = "auto"  # auto: served in development only; on; off
    hsts: bool = True  # Strict-Transport-Security when APP_URL is https
    hash_concurrency: int = 0  # password hashes at once; 0: one per CPU core
    hash_queue_max_wait: float = 2.0  # seconds a password check may wait before 503
    shutdown_grace: int = 10  # seconds web and worker processes take, at most, to stop on SIGTERM
    worker_heartbeat_max_age: int = 30  # /ready fails "worker" when none polled this recently
    # Passwordless and two-factor (issue 8)
    magic_link_ttl: int = 900
    two_factor_token_ttl: int = 300  # a pending sign-in waiting for its second factor
    totp_issuer: str = "latchkey"
    sms_code_ttl: int = 300
    # Contacts, devices and pairing (issue 9)
    contact_code_ttl: int = 900
    contact_code_daily_cap: int = 20  # contact codes an account may be sent per day
    pairing_token_ttl: int = 900
    mobile_session_ttl: int = 90 * 86400  # idle timeout and absolute lifetime of a paired device
    # SMS through Twilio; without credentials in development the dev mailbox prints SMS
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from_number: str = ""  # TWILIO_PHONE_NUMBER (the seed's name) is read as an alias
    twilio_api_base_url: str = "https://api.twilio.com"
    sms_allowed_country_codes: str = ""  # calling codes, comma-separated ("1,44"); empty: all
    sms_daily_cap_per_account: int = 10  # SMS codes an account may be sent per day
    # Rate limits ("N/second|minute|hour|day"), per client IP unless named per account.
    rate_limit_register: str = "5/hour"
    rate_limit_signin: str = "20/minute"
    rate_limit_refresh: str = "60/minute"
    rate_limit_password_forgot: str = "5/hour"
    rate_limit_verify_email_resend: str = "3/hour"
    rate_limit_token: str = "20/hour"  # verify-email and password/reset
    rate_limit_password_forgot_per_account: str = "3/hour"
    rate_limit_verify_email_resend_per_account: str = "3/hour"
    rate_limit_reauth_per_session: str = "10/hour"  # current-password checks per session
    rate_limit_magic_link: str = "5/hour"
    rate_limit_magic_link_per_account: str = "5/hour"
    rate_limit_sms_per_number: str = "3/15 minutes"  # SMS pumping (OWASP, Twilio guidance)
    rate_limit_sms: str = "10/hour"  # SMS sends per IP
    rate_limit_sms_per_account: str = "5/hour"
    rate_limit_two_factor: str = "20/minute"  # challenge verify/sms per IP
    rate_limit_contact_code_per_account: str = "1/minute"  # per method (email, sms)
    rate_limit_pair_token_per_account: str = "3/5 minutes"
    rate_limit_pair: str = "20/hour"  # pairing attempts per IP (guessing tokens)
    rate_limit_context: str = "10/minute"  # context switches per IP
    rate_limit_invitation_per_organization: str = "20/hour"
    rate_limit_invitation_per_account: str = "50/hour"  # invitations one person sends
    rate_limit_organization_per_account: str = "10/day"  # organizations one account creates
    lockout_threshold: int = 10  # failed sign-ins within lockout_window lock the account
    lockout_window: int = 900
    lockout_duration: int = 900
    # Organizations, teams and the active context (issue 13)
    roles: str = "admin,user"  # the global roles an account may hold, comma-separated
    default_role: str = "user"  # given at sign-up; must be one of ROLES
    app_url_organization: str = ""  # dashboard link of organization accounts; empty: APP_URL
    invitation_ttl: int = 7 * 86400
    max_pending_invitations: int = 50  # per organization
    mobile_token_max_auth_age: int = 600  # POST /v1/mobile/token needs a sign-in this recent
    # Enterprise directory (issue 14): single sign-on (OpenID Connect) and SCIM provisioning.
    # A deployment-wide identity provider; organizations connect their own over the API.
    oidc_issuer: str = ""  # e.g. https://example.okta.com; empty: no deployment-wide provider
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_allowed_domains: str = ""  # email domains it may link and create accounts for
    oidc_trust_provider_mfa: bool = False  # its ID token's amr may stand in for latchkey's 2FA
    oidc_jit_provisioning: bool = True  # first sign-in creates the account
    # alg allow-list of ID tokens (RFC 8725 §3.1): asymmetric only, never none or HS*
    oidc_id_token_algorithms: str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"
    oidc_http_timeout: float = 5.0  # seconds per call to a provider; then 502
    oidc_metadata_ttl: int = 3600  # seconds discovery documents and JWKS stay cached
    sso_callback_url: str = ""  # what providers redirect to; empty: APP_URL/v1/auth/sso/callback
    sso_allowed_redirects: str = ""  # exact URLs /sso/start may return to; empty: APP_URL/auth/sso
    sso_state_ttl: int = 600  # a started sign-in waits this long for the provider
    sso_code_ttl: int = 60  # the one-time code the app exchanges for tokens
    scim_max_body_bytes: int = 1024 * 1024  # larger SCIM bodies get 413
    rate_limit_sso: str = "30/minute"  # /sso/start, /sso/callback and /sso/exchange per IP
    rate_limit_scim_per_token: str = "600/minute"
    # Observability (issue 10)
    log_format: str = ""  # json | console; empty: JSON lines in production, console elsewhere
    metrics_token: str = field(default="", repr=False)  # /metrics is 404 until set (Bearer)
    worker_metrics_port: int = 0  # the worker's own /metrics; 0: off
    worker_metrics_host: str = "127.0.0.1"  # where that port listens

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def serves_pages(self) -> bool:
        """Whether the hosted pages (verify email, reset password, ...) are served."""
        return self.hosted_pages == "on" or (self.hosted_pages == "auto"
                                              and self.environment != "production")

    @property
    def allowed_roles(self) -> tuple[str, ...]:
        """``ROLES`` as a tuple; always holds ``admin`` (latchkey's own administration)."""
        return tuple(r.strip() for r in self.roles.split(",") if r.strip())

    @property
    def organization_app_url(self) -> str:
        """The dashboard of organization accounts (``APP_URL_ORGANIZATION``, else APP_URL)."""
        return self.app_url_organization or self.app_url

    @property
    def sso_redirect_uri(self) -> str:
        """The redirect URI registered at identity providers (``SSO_CALLBACK_URL``)."""
        return self.sso_callback_url or f"{self.app_url.rstrip('/')}/v1/auth/sso/callback"

    @property
    def sso_redirects(self) -> tuple[str, ...]:
        """Where ``/sso/start`` may send people back to (``SSO_ALLOWED_REDIRECTS``)."""
        listed = tuple(u.strip() for u in self.sso_allowed_redirects.split(",") if u.strip())
        return listed or (f"{self.app_url.rstrip('/')}/auth/sso",)

    @property
    def oidc_domains(self) -> tuple[str, ...]:
        """``OIDC_ALLOWED_DOMAINS`` lower-cased, without a leading @."""
        return tuple(d.strip().lstrip("@").lower() for d in self.oidc_allowed_domains.split(",")
                     if d.strip())

    @property
    def id_token_algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.oidc_id_token_algorithms.split(",") if a.strip())

    @property
    def sms_country_codes(self) -> frozenset[int]:
        """Calling codes SMS may go to (``SMS_ALLOWED_COUNTRY_CODES``); empty: all."""
        return frozenset(int(c) for c in self.sms_allowed_country_codes.replace("+", "").split(",")
                         if c.strip())

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 secrets_required: bool = True) -> Settings:
        """Build settings from ``env`` (default ``os.environ``). secrets_required=False for
        commands that sign and hash nothing (migrations).

        raises SettingsError listing every invalid or missing variable.
        """
        env = os.environ if env is None else env
        if not env.get("TWILIO_FROM_NUMBER") and env.get("TWILIO_PHONE_NUMBER"):
            env = {**env, "TWILIO_FROM_NUMBER": env["TWILIO_PHONE_NUMBER"]}  # the seed's name
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in dataclasses.fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            kind = type(f.default)
            try:
                values[f.name] = _parse(kind, raw)
            except ValueError:
                problems.append(f"{f.name.upper()} must be a {kind.__name__}, got {raw!r}")
        settings = cls(**values)
        problems.extend(p for p in settings.problems()
                        if secrets_required or "python -m scripts.secrets" not in p)
        if problems:
            raise SettingsError("invalid configuration: " + "; ".join(problems))
        return settings

    def problems(self) -> list[str]:
        """Return human-readable reasons this configuration must not run (empty if fine)."""
        found: list[str] = []
        if self.environment not in ENVIRONMENTS:
            found.append(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}")
        if self.smtp_tls not in SMTP_TLS_MODES:
            found.append(f"SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}")
        for f in dataclasses.fields(self):
            if f.name.startswith("rate_limit_") and not RATE_RE.match(getattr(self, f.name)):
                found.append(f"{f.name.upper()} must look like 20/minute")
        if not 12 <= self.password_min_length <= 128:  # OWASP ASVS 2.1.1; the API says 12
            found.append("PASSWORD_MIN_LENGTH must be between 12 and 128")
        if not 4 <= self.bcrypt_rounds <= 31:
            found.append("BCRYPT_ROUNDS must be between 4 and 31")
        if self.hosted_pages not in HOSTED_PAGES_MODES:
            found.append(f"HOSTED_PAGES must be one of {', '.join(HOSTED_PAGES_MODES)}")
        if "*" in self.cors_origins:
            found.append("CORS_ORIGINS takes exact origins (https://app.example.com); a "
                         "wildcard cannot be combined with credentials")
        if self.hash_concurrency < 0 or self.hash_queue_max_wait <= 0:
            found.append("HASH_CONCURRENCY must be >= 0 and HASH_QUEUE_MAX_WAIT > 0")
        if not all(c.strip().isdigit() for c in
                   self.sms_allowed_country_codes.replace("+", "").split(",") if c.strip()):
            found.append("SMS_ALLOWED_COUNTRY_CODES takes calling codes like 1,44,49")
        if self.log_format not in LOG_FORMATS:
            found.append("LOG_FORMAT must be json or console")
        roles = self.allowed_roles
        if "admin" not in roles or not all(re.fullmatch(r"[a-z][a-z0-9_]{0,31}", r) for r in roles):
            found.append("ROLES must be comma-separated lower-case names (a-z, 0-9, _) "
                         "including admin")
        if self.default_role not in roles:
            found.append("DEFAULT_ROLE must be one of ROLES")
        if self.invitation_ttl <= 0 or self.max_pending_invitations <= 0 \
                or self.mobile_token_max_auth_age <= 0:
            found.append("INVITATION_TTL, MAX_PENDING_INVITATIONS and MOBILE_TOKEN_MAX_AUTH_AGE "
                         "must be positive")
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN:
            found.append(f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters")
        if not 0 <= self.worker_metrics_port <= 65535:
            found.append("WORKER_METRICS_PORT must be a TCP port (0: off)")
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            found.append("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
        if self.oidc_issuer and not self.oidc_issuer.startswith("https://") \
                and self.environment == "production":
            found.append("OIDC_ISSUER must be an https:// URL (OIDC Discovery §4)")
        algorithms = self.id_token_algorithms
        if not algorithms or any(a.upper().startswith("HS") or a.lower() == "none"
                                 for a in algorithms):
            found.append("OIDC_ID_TOKEN_ALGORITHMS takes asymmetric algorithms only "
                         "(RS256, ES256, ...; never none or HS*: RFC 8725 §3.1)")
        if self.oidc_http_timeout <= 0 or self.sso_state_ttl <= 0 or self.sso_code_ttl <= 0:
            found.append("OIDC_HTTP_TIMEOUT, SSO_STATE_TTL and SSO_CODE_TTL must be positive")
        if any("://" not in u for u in self.sso_redirects):
            found.append("SSO_ALLOWED_REDIRECTS takes absolute URLs, comma-separated")
        if self.encryption_key != DEV_SECRET and not valid_encryption_keys(self.encryption_key):
            found.append("ENCRYPTION_KEY must be one Fernet key or a comma-separated list of them "
                         "(32 url-safe base64 bytes each; generate one with: "
                         "python -m scripts.secrets)")
        if self.environment not in ("development", "test"):
            for name in SECRETS:
                value: str = getattr(self, name)
                if value == DEV_SECRET or len(value.encode()) < MIN_SECRET_BYTES:
                    found.append(
                        f"{name.upper()} must be set to a random value of at least "
                        f"{MIN_SECRET_BYTES} bytes outside development "
                        "(generate fresh ones with: python -m scripts.secrets)"
                    )
        return found

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (used by tests and scripts)."""
        return dataclasses.replace(self, **changes)


def valid_encryption_keys(value: str) -> bool:
    """Whether ``value`` is one or more comma-separated Fernet keys (url-safe base64 of 32
    bytes; padding optional)."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    return bool(keys) and all(_key_bytes(k) is not None for k in keys)


def _key_bytes(key: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    except (ValueError, binascii.Error):
        return None
    return raw if len(raw) == 32 else None


def _parse(kind: type, raw: str) -> Any:
    """An environment string as the field's type. raises ValueError."""
    if kind is bool:
        if raw.lower() in TRUE:
            return True
        if raw.lower() in FALSE:
            return False
        raise ValueError(raw)
    return kind(raw) if kind in (int, float) else raw
