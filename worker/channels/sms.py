"""SMS channel: the twilio SDK's Messages API (placeholder until the SMS channel lands)."""

from __future__ import annotations

from domain.errors import PermanentDeliveryError
from domain.messages.delivery import OutgoingMessage
from domain.settings import Settings


class SmsChannel:
    """Sends ``<kind>.sms.txt`` through Twilio. raises TransientDeliveryError or
    PermanentDeliveryError."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def deliver(self, message: OutgoingMessage) -> str | None:
        raise PermanentDeliveryError("SMS channel not built yet")

    async def close(self) -> None:
        return None
