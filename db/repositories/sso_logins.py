"""Single sign-on attempts (``sso_logins``): the SHA-256 of the ``state`` a sign-in starts
with and of the one-time code the callback hands the app, never either value. Each is used
up by one conditional UPDATE, so of parallel requests with one value exactly one wins."""

from __future__ import annotations

import uuid
from datetime import datetime

from db.tables import SsoLogin
from domain.records import SsoLoginRecord

FIELDS = (SsoLogin.id, SsoLogin.organization_id, SsoLogin.redirect_to, SsoLogin.expires_at,
          SsoLogin.state_used_at, SsoLogin.user_id, SsoLogin.code_expires_at,
          SsoLogin.code_used_at, SsoLogin.provider_mfa, SsoLogin.created_at)


def _record(row: dict) -> SsoLoginRecord:
    return SsoLoginRecord(**{**row, "provider_mfa": bool(row["provider_mfa"])})


async def insert(*, state_hash: str, organization_id: uuid.UUID | None, redirect_to: str,
                 now: datetime, expires_at: datetime, ip_address: str | None,
                 user_agent: str | None) -> uuid.UUID:
    """Record a started sign-in; returns its id."""
    login_id = uuid.uuid4()
    await SsoLogin.insert(SsoLogin(
        id=login_id, state_hash=state_hash, organization_id=organization_id,
        redirect_to=redirect_to, expires_at=expires_at, created_at=now,
        ip_address=ip_address, user_agent=user_agent))
    return login_id


async def use_state(state_hash: str, now: datetime) -> SsoLoginRecord | None:
    """Use up the state of a live sign-in (unused, unexpired) in one conditional UPDATE;
    None when it is unknown, used or expired (a replayed callback)."""
    rows = await SsoLogin.update({SsoLogin.state_used_at: now}).where(
        (SsoLogin.state_hash == state_hash) & SsoLogin.state_used_at.is_null()
        & (SsoLogin.expires_at > now)
    ).returning(SsoLogin.id)
    return await _get(rows[0]["id"]) if rows else None


async def set_code(login_id: uuid.UUID, *, user_id: uuid.UUID, code_hash: str,
                   code_expires_at: datetime, provider_mfa: bool) -> None:
    """Hand the sign-in to ``user_id`` with a one-time code. Call inside the callback's
    transaction."""
    await SsoLogin.update({SsoLogin.user_id: user_id, SsoLogin.code_hash: code_hash,
                           SsoLogin.code_expires_at: code_expires_at,
                           SsoLogin.provider_mfa: provider_mfa}).where(SsoLogin.id == login_id)


async def use_code(code_hash: str, now: datetime) -> SsoLoginRecord | None:
    """Use up the one-time code in one conditional UPDATE (expired or not: the caller tells
    an expired code from an unknown one by ``code_expires_at``); None when unknown or used."""
    rows = await SsoLogin.update({SsoLogin.code_used_at: now}).where(
        (SsoLogin.code_hash == code_hash) & SsoLogin.code_used_at.is_null()
        & SsoLogin.user_id.is_not_null()
    ).returning(SsoLogin.id)
    return await _get(rows[0]["id"]) if rows else None


async def _get(login_id: uuid.UUID) -> SsoLoginRecord:
    # read back with a SELECT: RETURNING gives SQLite's timestamps as text
    row = await SsoLogin.select(*FIELDS).where(SsoLogin.id == login_id).first()
    return _record(row)
