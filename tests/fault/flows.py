"""What the fault tests do over HTTP and read from the outbox: register, verify and sign in
against the real web process, and each message's row (status, attempts, last error)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from db.tables import OutboxMessage
from tests.fault.system import WAIT, FaultySink
from tests.support import PASSWORD, token_of


def register(url: str, email: str) -> None:
    response = httpx.post(f"{url}/v1/auth/register",
                          json={"email": email, "password": PASSWORD}, timeout=WAIT)
    assert response.status_code == 201, response.text


def signed_in(url: str, sink: FaultySink, email: str, registered: bool = False
              ) -> dict[str, Any]:
    """Register (unless ``registered``), verify with the emailed link, sign in; returns the
    TokenPair."""
    if not registered:
        register(url, email)
    link = sink.wait_for(email, timeout=WAIT)[-1].links[0]
    verified = httpx.post(f"{url}/v1/auth/verify-email", json={"token": token_of(link)},
                          timeout=WAIT)
    assert verified.status_code == 200, verified.text
    pair = httpx.post(f"{url}/v1/auth/signin", json={"email": email, "password": PASSWORD},
                      timeout=WAIT)
    assert pair.status_code == 200, pair.text
    return pair.json()


async def messages(kind: str | None = None, recipient: str | None = None
                   ) -> list[dict[str, Any]]:
    """Outbox rows (id, kind, channel, recipient, status, attempts, last_error), oldest first."""
    query = OutboxMessage.select(
        OutboxMessage.id, OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.recipient,
        OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.last_error,
    ).order_by(OutboxMessage.created_at)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return await query


async def message_of(recipient: str, kind: str = "verify_email") -> dict[str, Any]:
    rows = await messages(kind, recipient)
    assert len(rows) == 1, rows
    return rows[0]


async def eventually(check: Callable[[], Awaitable[object]], what: str,
                     within: float = WAIT) -> None:
    """Poll ``check`` (a coroutine function) until it returns something true.
    raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {within}s")
        await asyncio.sleep(0.1)


async def statuses(kind: str = "verify_email") -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in await messages(kind):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def job_keys(message_id: uuid.UUID) -> tuple[str, str]:
    """arq's Redis keys of a message's job: the running-lock and the try counter."""
    return f"arq:in-progress:{message_id}", f"arq:retry:{message_id}"
