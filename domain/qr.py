"""QR codes as PNG data URLs (``qrcode`` with its pure-Python PNG writer). Rendering takes
milliseconds of CPU, so it runs in a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio
import base64
import io

import qrcode
from qrcode.image.pure import PyPNGImage


def _render(text: str) -> str:
    image = qrcode.make(text, image_factory=PyPNGImage, box_size=6, border=4)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def qr_data_url(text: str) -> str:
    """``text`` (an ``otpauth://`` or pairing URI) as ``data:image/png;base64,...``; the
    image holds a secret when ``text`` does: never log it."""
    return await asyncio.to_thread(_render, text)
