"""Typed settings, read once from the environment at process start and passed down.

Every knob is an environment variable; README.md lists them with defaults. Only the two
composition roots (api.app, worker.settings) call :func:`Settings.from_env`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///var/latchkey.sqlite3"
DEV_SECRET = "latchkey-development-only-secret-do-not-use-in-production"
ENVIRONMENTS = ("development", "test", "production")
SMTP_TLS_MODES = ("none", "starttls", "tls")
MIN_SECRET_BYTES = 32  # OWASP ASVS 6.4.1: keys with at least 256 bits of entropy


class SettingsError(ValueError):
    """Raised when the environment does not describe a usable configuration."""


@dataclass(frozen=True, slots=True)
class Settings:
    """All runtime configuration. Durations are in seconds.

    Source: environment variables named like the field in upper case (``JWT_SECRET`` ...).
    """

    environment: str = "development"
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
    password_min_length: int = 12
    access_token_ttl: int = 900
    refresh_token_ttl: int = 7 * 86400
    email_verification_ttl: int = 86400
    refresh_reuse_grace: int = 10
    arq_poll_delay: float = 0.005
    delivery_max_tries: int = 8
    delivery_retry_base: float = 1.0
    outbox_sweep_after: int = 30
    sent_message_retention: int = 30 * 86400
    cleanup_batch_size: int = 5000
    max_body_bytes: int = 64 * 1024

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``).

        raises SettingsError listing every invalid or missing variable.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in dataclasses.fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            kind = type(f.default)
            try:
                values[f.name] = kind(raw) if kind in (int, float) else raw
            except ValueError:
                problems.append(f"{f.name.upper()} must be a {kind.__name__}, got {raw!r}")
        settings = cls(**values)
        problems.extend(settings.problems())
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
        if not 4 <= self.bcrypt_rounds <= 31:
            found.append("BCRYPT_ROUNDS must be between 4 and 31")
        if self.environment == "production":
            for name in ("jwt_secret", "password_pepper"):
                value: str = getattr(self, name)
                if value == DEV_SECRET or len(value.encode()) < MIN_SECRET_BYTES:
                    found.append(
                        f"{name.upper()} must be set to a random value of at least "
                        f"{MIN_SECRET_BYTES} bytes in production"
                    )
        return found

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (used by tests and scripts)."""
        return dataclasses.replace(self, **changes)
