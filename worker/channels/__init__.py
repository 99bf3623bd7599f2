"""Delivery channels: each renders its kind's templates and hands the message over."""

from __future__ import annotations

from typing import Protocol

from domain.messages.delivery import OutgoingMessage


class DeliveryChannel(Protocol):
    """What the worker's Sender needs of a channel."""

    async def deliver(self, message: OutgoingMessage) -> str | None:
        """Send ``message``; the provider's id of it, if any. raises TransientDeliveryError
        or PermanentDeliveryError."""

    async def close(self) -> None:
        """Release connections (worker shutdown)."""
