"""Password hashing.

bcrypt over a base64 HMAC-SHA256(pepper, password) pre-hash so passwords longer than bcrypt's
72-byte limit are never truncated (OWASP Password Storage Cheat Sheet, "pre-hashing"); hashing
runs in a thread pool, never on the event loop, and only after a place in the bounded queue of
``domain/passwords/admission.py`` (503 instead of an unbounded wait under overload).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

import bcrypt

from domain.passwords.admission import HashAdmission, Hold

T = TypeVar("T")
DUMMY_PASSWORD = "latchkey dummy password"


class PasswordHasher:
    """bcrypt with a pepper. ``rounds``: bcrypt cost (log2 iterations).

    Methods are async and run bcrypt in a private thread pool of ``admission.concurrency``
    threads, so the event loop keeps serving other requests while a hash is computed.
    admission: the bounded queue (default: one slot per core, never refusing, for scripts).
    hash/verify raise domain.errors.Overloaded when refused (nothing was hashed).
    """

    def __init__(self, *, rounds: int, pepper: str,
                 admission: HashAdmission | None = None) -> None:
        self.rounds = rounds
        self._pepper = pepper.encode()
        self.admission = admission or HashAdmission(concurrency=os.cpu_count() or 2,
                                                    max_wait=math.inf)
        self._pool = ThreadPoolExecutor(max_workers=self.admission.concurrency,
                                        thread_name_prefix="bcrypt")
        self._dummy_hash: bytes | None = None

    def _prehash(self, password: str) -> bytes:
        digest = hmac.new(self._pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest)  # 44 bytes, under bcrypt's 72-byte limit

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(self._prehash(password), bcrypt.gensalt(self.rounds)).decode()

    def _verify_sync(self, password: str, hashed: bytes) -> bool:
        return bcrypt.checkpw(self._prehash(password), hashed)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[HashTurn]:
        """Wait for a hashing slot and hold it for the ``async with`` body.

        For a use case that must not change anything unless it can hash (sign-in reserves a
        lockout attempt only once its turn has come). raises Overloaded (503) or
        asyncio.CancelledError (client left while queued) before the body runs.
        """
        async with self.admission.slot(measured=False) as hold:
            yield HashTurn(self, hold)

    async def hash(self, password: str) -> str:
        """Return a bcrypt hash string (``$2b$<rounds>$...``, 60 chars). raises Overloaded."""
        async with self.turn() as turn:
            return await turn.hash(password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """True when ``password`` matches ``hashed``; see :meth:`HashTurn.verify`.
        raises Overloaded."""
        async with self.turn() as turn:
            return await turn.verify(password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        """True when ``hashed`` was made with fewer rounds than configured now."""
        try:
            return int(hashed.split("$")[2]) < self.rounds
        except (IndexError, ValueError):
            return True

    async def warm_up(self) -> None:
        """Compute the dummy hash now, so the first unknown-email sign-in is not slower, and
        give the queue its first hash time (one hash held one slot)."""
        async with self.turn() as turn:
            self._dummy_hash = (await turn.hash(DUMMY_PASSWORD)).encode()

    def close(self) -> None:
        self.admission.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


class HashTurn:
    """Hashing while holding a slot of the queue (from :meth:`PasswordHasher.turn`)."""

    def __init__(self, hasher: PasswordHasher, hold: Hold) -> None:
        self._hasher = hasher
        self._hold = hold

    async def hash(self, password: str) -> str:
        """A bcrypt hash string (``$2b$<rounds>$...``, 60 chars)."""
        self._hold.measured = True  # this turn's hold time is a hash time
        return await self._hasher._run(self._hasher._hash_sync, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """True when ``password`` matches ``hashed``.

        With ``hashed=None`` (unknown account) a dummy hash is checked so the call costs the
        same time and the caller cannot be used to enumerate accounts (OWASP ASVS 2.2.1).
        """
        h = self._hasher
        if hashed is None:
            if h._dummy_hash is None:  # no warm_up (scripts, tests): once per process
                h._dummy_hash = (await h._run(h._hash_sync, DUMMY_PASSWORD)).encode()
            target, known = h._dummy_hash, False
        else:
            target, known = hashed.encode(), True
        self._hold.measured = True
        ok = await h._run(h._verify_sync, password, target)
        return ok and known
