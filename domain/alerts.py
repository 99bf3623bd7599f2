"""Security alerts: emails telling a person that something sensitive happened to their
account, with when, from which device and IP, and what to do if it was not them.
Queued in the outbox inside the transaction of the change (never sent from the request)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from db.repositories import outbox
from db.repositories.users import UserRecord
from domain.devices import describe
from domain.services import RequestInfo


class Alert(StrEnum):
    PASSWORD_RESET = "alert_password_reset"
    PASSWORD_CHANGED = "alert_password_changed"
    TOKEN_REUSE = "alert_token_reuse"
    NEW_DEVICE = "alert_new_device"


async def queue_alert(alert: Alert, *, user: UserRecord, now: datetime, info: RequestInfo,
                      device_name: str | None = None) -> uuid.UUID:
    """Add the alert to the outbox; call inside the transaction. No secret goes in it."""
    device = device_name or describe(info.user_agent)[0]
    return await outbox.add(kind=alert, recipient=user.email, user_id=user.id, now=now, data={
        "name": user.name, "when": now.strftime("%Y-%m-%d %H:%M UTC"), "device": device,
        "ip_address": info.ip_address or "unknown",
    })
