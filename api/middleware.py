"""ASGI middleware of the web app, outermost first (wired in api/app.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from domain.passwords.admission import client_gone


class DropAbandoned:
    """Lets the password-hashing queue drop a request whose client has gone (issue 16).

    Per HTTP request it sets ``domain.passwords.admission.client_gone`` to a callable that
    waits for ``http.disconnect``. The queue calls it only while a request waits for a hash
    slot, i.e. after the handler has read the whole body, when uvicorn's ``receive()`` blocks
    until the connection is lost (or the response is complete, which cannot happen while the
    handler still waits). Requests that never queue pay for one closure and a context
    variable, nothing more. The queue raises CancelledError for a client that left; that ends
    here without a response, which uvicorn accepts silently for a disconnected client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gone = False

        async def wait_disconnect() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass  # no body is left to read here; uvicorn answers empty chunks only
            gone = True

        token = client_gone.set(wait_disconnect)
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not gone or (task is not None and task.cancelling()):
                raise  # a real cancellation (shutdown), not the queue dropping our request
        finally:
            client_gone.reset(token)


MIDDLEWARE: list[Any] = [DropAbandoned]
