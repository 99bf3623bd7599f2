"""Helpers shared by the tests: an injectable clock, an in-process worker, API shortcuts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from arq.connections import RedisSettings
from arq.worker import Worker
from litestar import Litestar

from domain.settings import Settings
from scripts.mailbox import Mailbox
from worker.resilient import ResilientWorker
from worker.settings import WorkerSettings

PASSWORD = "correct horse battery staple"
JSON = {"content-type": "application/json"}


class MutableClock:
    """A clock tests move by hand: ``clock.advance(seconds=11)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the app's lifespan in a task of its own: anyio cancel scopes must be left by the
    task that entered them, and pytest-asyncio finalizes fixtures in another task."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # startup failed: raise its error
    try:
        yield
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, clock: MutableClock) -> AsyncIterator[Worker]:
    """A real arq worker (the Procfile's, minus cron) in this event loop."""
    worker = ResilientWorker(
        functions=WorkerSettings.functions, on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown, keep_result=WorkerSettings.keep_result,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        poll_delay=settings.arq_poll_delay, handle_signals=False, max_jobs=20,
        ctx={"settings": settings, "clock": clock},
    )
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        for _ in range(200):  # let in-flight jobs finish (up to 2 s) instead of cancelling
            if all(t.done() for t in worker.tasks.values()):
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()


@contextlib.asynccontextmanager
async def serving(settings: Settings, clock: MutableClock, *, worker: bool = True
                  ) -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI app (lifespan run) and, with ``worker``, a real arq worker, in this loop
    (Litestar's AsyncTestClient runs the app in another thread and loop, which an asyncpg
    pool shared with the worker does not survive)."""
    from api.app import create_app

    app = create_app(settings, clock)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(lifespan(app))
        if worker:
            await stack.enter_async_context(running_worker(settings, clock))
        yield await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"))


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


async def wait_mail(mailbox: Mailbox, address: str, count: int = 1, within: float = 5.0,
                    subject: str | None = None) -> list[Any]:
    """Wait (without blocking the loop the worker runs on) for ``count`` mails to address."""
    return await asyncio.to_thread(mailbox.wait_for, address, count, within, subject)


async def register(client: Any, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return await client.post("/v1/auth/register",
                             json={"email": email, "password": password, **extra})


async def verified_user(client: Any, mailbox: Mailbox, email: str) -> None:
    """Register, then verify with the token from the emailed link."""
    assert (await register(client, email)).status_code == 201
    mail = (await wait_mail(mailbox, email))[-1]
    response = await client.post("/v1/auth/verify-email", json={"token": token_of(mail.links[0])})
    assert response.status_code == 200, response.text


async def sign_in(client: Any, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return await client.post("/v1/auth/signin",
                             json={"email": email, "password": password, **extra})


def bearer(access_token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {access_token}"}


def decode_qr(data_url: str) -> str:
    """The text of the QR code in a ``data:image/png;base64,...`` URL, read back with
    zxing-cpp (an independent decoder, as a phone's camera app would)."""
    import base64
    import io

    import zxingcpp
    from PIL import Image

    assert data_url.startswith("data:image/png;base64,"), data_url[:40]
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    # QR codes only: zxing-cpp's other readers now and then see a spurious linear barcode
    # in a QR code's modules (a flaky "2 codes in the image" on CI)
    found = {code.text for code in zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormat.QRCode)}
    assert len(found) == 1, f"{len(found)} codes in the image"
    return found.pop()
