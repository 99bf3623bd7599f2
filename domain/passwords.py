"""Password hashing and policy.

bcrypt over a base64 HMAC-SHA256(pepper, password) pre-hash so passwords longer than bcrypt's
72-byte limit are never truncated (OWASP Password Storage Cheat Sheet, "pre-hashing"); hashing
runs in a thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from zxcvbn import zxcvbn

from domain.errors import ValidationFailed
from domain.settings import Settings

MAX_PASSWORD_LENGTH = 128  # code points; NIST SP 800-63B §5.1.1.2 asks for at least 64
ZXCVBN_PREFIX = 72  # zxcvbn refuses longer input (its cost grows fast with length)


def check_password_policy(password: str, *, email: str = "", min_length: int = 12,
                          min_strength: int = 0, field: str = "password") -> None:
    """Raise ValidationFailed (naming ``field``) unless ``password`` is min_length..128 code
    points, does not contain the email's local part, and scores at least ``min_strength``
    (0..4) with zxcvbn against common passwords, names and the user's own details.

    No composition rules (NIST SP 800-63B §5.1.1.2; OWASP ASVS 2.1.7 blocks breached or
    common passwords).
    """
    if len(password) < min_length:
        raise ValidationFailed([(field, f"must be at least {min_length} characters")])
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed([(field, f"must be at most {MAX_PASSWORD_LENGTH} characters")])
    local = email.partition("@")[0].lower()
    if len(local) >= 3 and local in password.lower():
        raise ValidationFailed([(field, "must not contain your email address")])
    if min_strength:
        result = zxcvbn(password[:ZXCVBN_PREFIX], user_inputs=[local, email.lower()])
        if result["score"] < min_strength:
            hint = result["feedback"].get("warning") or "it is too easy to guess"
            raise ValidationFailed([(field, f"is too weak: {hint.rstrip('.')}. "
                                            "A few unrelated words make a strong password.")])


def check_new_password(settings: Settings, password: str, email: str,
                       field: str = "password") -> None:
    """The policy of every new password (registration, reset, change), from settings."""
    check_password_policy(password, email=email, field=field,
                          min_length=settings.password_min_length,
                          min_strength=settings.password_min_strength)


class PasswordHasher:
    """bcrypt with a pepper. ``rounds``: bcrypt cost (log2 iterations).

    Methods are async and run bcrypt in a private thread pool sized to the cores, so the
    event loop keeps serving other requests while a hash is computed.
    """

    def __init__(self, *, rounds: int, pepper: str, threads: int | None = None) -> None:
        self.rounds = rounds
        self._pepper = pepper.encode()
        self._pool = ThreadPoolExecutor(
            max_workers=threads or os.cpu_count() or 2, thread_name_prefix="bcrypt"
        )
        self._dummy_hash: bytes | None = None

    def _prehash(self, password: str) -> bytes:
        digest = hmac.new(self._pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest)  # 44 bytes, under bcrypt's 72-byte limit

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(self._prehash(password), bcrypt.gensalt(self.rounds)).decode()

    def _verify_sync(self, password: str, hashed: bytes) -> bool:
        return bcrypt.checkpw(self._prehash(password), hashed)

    async def hash(self, password: str) -> str:
        """Return a bcrypt hash string (``$2b$<rounds>$...``, 60 chars)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._hash_sync, password
        )

    async def verify(self, password: str, hashed: str | None) -> bool:
        """True when ``password`` matches ``hashed``.

        With ``hashed=None`` (unknown account) a dummy hash is checked so the call costs the
        same time and the caller cannot be used to enumerate accounts (OWASP ASVS 2.2.1).
        """
        if hashed is None:
            if self._dummy_hash is None:
                self._dummy_hash = (await self.hash("latchkey dummy password")).encode()
            target, known = self._dummy_hash, False
        else:
            target, known = hashed.encode(), True
        ok = await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify_sync, password, target
        )
        return ok and known

    def needs_rehash(self, hashed: str) -> bool:
        """True when ``hashed`` was made with fewer rounds than configured now."""
        try:
            return int(hashed.split("$")[2]) < self.rounds
        except (IndexError, ValueError):
            return True

    async def warm_up(self) -> None:
        """Compute the dummy hash now so the first unknown-email sign-in is not slower."""
        await self.verify("warm-up", None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
