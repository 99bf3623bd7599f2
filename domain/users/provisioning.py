"""The first admin (and any later one an operator makes from a shell):
``python -m scripts.create_admin``."""

from __future__ import annotations

from dataclasses import dataclass

from db.repositories import users
from domain.accounts.emails import normalize_email
from domain.contacts import preferences
from domain.errors import EmailTaken
from domain.messages import kinds
from domain.names import AuditAction, Role
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.tokens import new_opaque_token

OPERATOR = RequestInfo(user_agent="scripts.create_admin")  # who acted, in the audit trail


@dataclass(frozen=True, slots=True)
class ProvisionedAdmin:
    """user: the admin account; created: False when an existing account was promoted;
    reset_queued: a password-reset email is in the outbox."""

    user: UserRecord
    created: bool
    reset_queued: bool


async def find_account(email: str) -> UserRecord | None:
    """The live account of ``email`` (normalised), if any. raises ValidationFailed."""
    return await users.get_by_email(normalize_email(email))


async def provision_admin(svc: Services, *, email: str, password: str | None,
                          send_reset: bool) -> ProvisionedAdmin:
    """Create a verified admin account for ``email``, or promote the existing one (its
    roles become ``["admin"]``; it is reactivated and its address counts as verified, since
    the operator vouches for it; its password is left alone).

    password: the new account's password, already checked against the policy by the
    caller; None sets an unusable one (bcrypt of a random 256-bit secret that is thrown
    away), for use with ``send_reset``. send_reset: queue a password-reset email through
    the outbox (the worker sends it; the link lives PASSWORD_RESET_TTL s).
    Audited (REGISTERED for a new account, USER_ROLE_CHANGED with ``via``).
    raises ValidationFailed (malformed address), EmailTaken (the account was created or
    erased meanwhile: run the command again), Overloaded.
    """
    email = normalize_email(email)
    password_hash = None
    if await users.get_by_email(email) is None:  # hashed before the transaction, not in it
        password_hash = await svc.hasher.hash(password or new_opaque_token())
    try:
        async with svc.unit_of_work(OPERATOR) as uow:
            user = await users.get_by_email(email)
            created = user is None
            if user is None:
                if password_hash is None:  # the account was erased meanwhile: start afresh
                    raise EmailTaken()
                user = await users.insert(email=email, password_hash=password_hash, name=None,
                                          now=uow.now, roles=[Role.ADMIN.value], verified=True)
                await preferences.start(user.id)  # email at priority 1, like every new account
                uow.audit(AuditAction.REGISTERED, user.id, via="create_admin")
            else:
                await users.update_profile(user.id, now=uow.now, roles=[Role.ADMIN.value],
                                           is_active=True, email_verified=True)
            uow.audit(AuditAction.USER_ROLE_CHANGED, user.id, role=Role.ADMIN.value,
                      previous=[] if created else list(user.roles), via="create_admin")
            if send_reset:
                uow.send(kinds.RESET_PASSWORD, user=user,
                         data={"ip_address": None, "user_agent": OPERATOR.user_agent})
                uow.audit(AuditAction.PASSWORD_RESET_REQUESTED, user.id, via="create_admin")
    except Exception as exc:  # unique violation on a lost race (sqlite3 / asyncpg types differ)
        if "unique" in str(exc).lower():
            raise EmailTaken() from exc
        raise
    final = await users.get_by_id(user.id)
    return ProvisionedAdmin(final or user, created, send_reset)
