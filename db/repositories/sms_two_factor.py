"""SMS two-factor: the verified number on the user's row (``users.sms_two_factor_phone``),
which ``UserRecord.two_factor_methods`` and the profile read without another query."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import User


async def set_phone(user_id: uuid.UUID, phone: str, now: datetime) -> None:
    """Turn SMS two-factor on with ``phone`` (E.164, just proved by a code sent to it), or
    move it to that number. Call inside a transaction."""
    await User.update({User.sms_two_factor_phone: phone, User.updated_at: now}).where(
        User.id == user_id)

