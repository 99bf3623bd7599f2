"""Password hashing.

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
