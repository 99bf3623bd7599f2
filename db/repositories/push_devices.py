"""Push devices: the registry of push targets, unique on (user_id, device_token)."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import PushDevice
from domain.records import PushDeviceRecord

FIELDS = (PushDevice.id, PushDevice.platform, PushDevice.device_name, PushDevice.created_at,
          PushDevice.last_seen_at)


async def upsert(*, user_id: uuid.UUID, platform: str, device_token: str,
                 device_name: str | None, now: datetime) -> tuple[PushDeviceRecord, bool]:
    """Register ``device_token`` for the user, or refresh the row it already has (platform,
    name when given, last_seen_at). Returns (the device, True when it is new). The unique index
    on (user_id, device_token) settles parallel registrations: the loser of the INSERT finds
    the winner's row and updates it. Call inside a transaction."""
    inserted = await PushDevice.insert(PushDevice(
        id=uuid.uuid4(), user_id=user_id, platform=platform, device_token=device_token,
        device_name=device_name, created_at=now, last_seen_at=now,
    )).on_conflict(target=(PushDevice.user_id, PushDevice.device_token),
                   action="DO NOTHING").returning(*FIELDS)
    if inserted:
        return PushDeviceRecord(**inserted[0]), True
    values: dict = {PushDevice.platform: platform, PushDevice.last_seen_at: now}
    if device_name is not None:  # a re-registration without a name keeps the old one
        values[PushDevice.device_name] = device_name
    rows = await PushDevice.update(values).where(
        (PushDevice.user_id == user_id) & (PushDevice.device_token == device_token)
    ).returning(*FIELDS)
    return PushDeviceRecord(**rows[0]), False


async def delete(*, user_id: uuid.UUID, device_id: uuid.UUID) -> PushDeviceRecord | None:
    """Delete the user's device; None when the user has no device with this id (someone
    else's devices are not found). Call inside a transaction."""
    rows = await PushDevice.delete().where(
        (PushDevice.id == device_id) & (PushDevice.user_id == user_id)
    ).returning(*FIELDS)
    return PushDeviceRecord(**rows[0]) if rows else None


async def list_for_user(user_id: uuid.UUID) -> list[PushDeviceRecord]:
    """The user's devices, most recently seen first."""
    rows = await PushDevice.select(*FIELDS).where(PushDevice.user_id == user_id).order_by(
        PushDevice.last_seen_at, ascending=False)
    return [PushDeviceRecord(**row) for row in rows]


async def count_for_user(user_id: uuid.UUID) -> int:
    """How many devices the user has (users.push_device_count is kept equal to it)."""
    return await PushDevice.count().where(PushDevice.user_id == user_id)
