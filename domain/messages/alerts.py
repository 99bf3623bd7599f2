"""Template data of security alerts: when, from which device and IP, so the person can tell
whether it was them (OWASP ASVS 2.2.3). No secret goes in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from domain.sessions.devices import describe


class Device(Protocol):
    ip_address: str | None
    user_agent: str | None


def alert_data(*, now: datetime, device: Device, device_name: str | None = None
               ) -> dict[str, Any]:
    """{when, device, ip_address} for an alert about ``device`` at ``now``."""
    return {"when": now.strftime("%Y-%m-%d %H:%M UTC"),
            "device": device_name or describe(device.user_agent)[0],
            "ip_address": device.ip_address or "unknown"}
