"""Invitations to organizations: the token is minted by the worker, only its hash is kept."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import Invitation


async def set_token(invitation_id: uuid.UUID, *, token_hash: str, expires_at: datetime) -> bool:
    """Give a pending invitation its (new) token, voiding any earlier one; False when it was
    accepted, revoked or deleted meanwhile (the email must not go out). Called by the worker
    inside the transaction that claims the message."""
    rows = await Invitation.update({Invitation.token_hash: token_hash,
                                    Invitation.expires_at: expires_at}).where(
        (Invitation.id == invitation_id) & Invitation.accepted_at.is_null()
        & Invitation.revoked_at.is_null()).returning(Invitation.id)
    return bool(rows)
