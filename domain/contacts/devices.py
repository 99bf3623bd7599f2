"""The push device registry: a person's app installs that may receive push notifications,
unique per (user, device token). users.push_device_count is kept equal to the rows in the
transaction that changes them, so the profile and the alert routing read it for free."""

from __future__ import annotations

import uuid

from db.repositories import contacts, push_devices
from domain.errors import NotFound
from domain.names import AuditAction
from domain.records import PushDeviceRecord
from domain.services import RequestInfo, Services

PLATFORMS = ("ios", "android", "web")


async def register_device(svc: Services, user_id: uuid.UUID, *, platform: str,
                          device_token: str, device_name: str | None,
                          info: RequestInfo) -> tuple[PushDeviceRecord, bool]:
    """Register the device token, or refresh the user's row for it (platform, name when
    given, last_seen_at): (the device, True when new). A new device is audited
    DEVICE_REGISTERED and counted; an app re-registering on each launch is neither (no audit
    noise). The token itself is never shown or audited: it addresses the device.
    raises ValueError for a platform outside PLATFORMS (the API only lets those through)."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}")
    async with svc.unit_of_work(info) as uow:
        device, created = await push_devices.upsert(
            user_id=user_id, platform=platform, device_token=device_token,
            device_name=device_name, now=uow.now)
        if created:
            await contacts.add_to_push_device_count(user_id, 1)
            uow.audit(AuditAction.DEVICE_REGISTERED, user_id, device_id=str(device.id),
                      platform=platform, device_name=device.device_name)
    return device, created


async def unregister_device(svc: Services, user_id: uuid.UUID, device_id: uuid.UUID, *,
                            info: RequestInfo) -> None:
    """Delete one of the user's devices (audited DEVICE_UNREGISTERED). raises NotFound for
    an unknown id and for another user's device alike."""
    async with svc.unit_of_work(info) as uow:
        device = await push_devices.delete(user_id=user_id, device_id=device_id)
        if device is None:
            raise NotFound("No such device.")
        await contacts.add_to_push_device_count(user_id, -1)
        uow.audit(AuditAction.DEVICE_UNREGISTERED, user_id, device_id=str(device.id),
                  platform=device.platform)


async def list_devices(user_id: uuid.UUID) -> list[PushDeviceRecord]:
    """The user's devices, most recently seen first."""
    return await push_devices.list_for_user(user_id)
