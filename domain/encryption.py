"""Secrets at rest (TOTP seeds, identity-provider client secrets) encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``; OWASP ASVS 6.2.1: a vetted library, not
our own construction).

``ENCRYPTION_KEY`` holds one key or a comma-separated list: the first encrypts, every one
decrypts (``MultiFernet``), so a key is rotated by putting the new one first and re-saving.
Development and test may leave it unset: a fixed dev key derived from the repository's dev
secret is used (the bootstrap warns); production refuses to start without a real key
(``domain/settings.py``).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from domain.settings import DEV_SECRET, Settings


class UndecryptableSecret(Exception):
    """The ciphertext was not made with any of the configured keys (a key was dropped from
    ENCRYPTION_KEY too early) or was altered."""


def _fernet(key: str) -> Fernet:
    key = key.strip()
    return Fernet(key + "=" * (-len(key) % 4))


def uses_dev_key(settings: Settings) -> bool:
    """True when ENCRYPTION_KEY is unset and the fixed dev key is in use."""
    return settings.encryption_key == DEV_SECRET


class SecretBox:
    """Encrypts and decrypts short secrets with the keys of ``ENCRYPTION_KEY``."""

    def __init__(self, settings: Settings) -> None:
        if uses_dev_key(settings):
            keys = [base64.urlsafe_b64encode(hashlib.sha256(DEV_SECRET.encode()).digest())
                    .decode()]
        else:
            keys = [k for k in settings.encryption_key.split(",") if k.strip()]
        self._box = MultiFernet([_fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext (url-safe base64 text, ~100 chars for a 32-char secret) under the
        first key."""
        return self._box.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; raises UndecryptableSecret."""
        try:
            return self._box.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret() from None

    def rotate(self, ciphertext: str) -> str:
        """The same secret re-encrypted under the first key (key rotation)."""
        try:
            return self._box.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret() from None
