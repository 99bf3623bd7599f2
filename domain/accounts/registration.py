"""Account use cases: register (personal or organization, issue 13), verify email, resend
verification, read the profile."""

from __future__ import annotations

import uuid

from db.repositories import users
from domain import one_time_secrets
from domain.accounts.emails import normalize_email
from domain.accounts.signup import PERSONAL, AccountChoice, check_choice
from domain.contacts import preferences
from domain.errors import EmailTaken, NotFound
from domain.messages import kinds
from domain.names import AccountType, AuditAction, RateLimit
from domain.one_time_secrets import purposes
from domain.organizations.creation import create_organization
from domain.passwords.policy import check_new_password
from domain.records import UserRecord
from domain.services import RequestInfo, Services
from domain.settings import Settings


async def register(svc: Services, *, email: str, password: str, name: str | None,
                   info: RequestInfo, choice: AccountChoice = PERSONAL,
                   nickname_field: str = "personal.nickname") -> UserRecord:
    """Create an unverified account with the role DEFAULT_ROLE, the default notification
    preference (email, priority 1) and, for a personal account, a personal profile id; an
    organization account also creates its organization with the account as owner. One
    transaction: a failure leaves no account and no organization. Queues the verification
    email. Everything is checked before the password is hashed or the database read.

    raises ValidationFailed (bad email/password, see signup.check_choice), EmailTaken (409;
    case-insensitive; the same for either account type).
    """
    email = normalize_email(email)
    check_new_password(svc.settings, password, email)
    choice = check_choice(choice, nickname_field=nickname_field)
    if await users.email_exists(email):  # cheap early answer; the unique index decides races
        raise EmailTaken()
    password_hash = await svc.hasher.hash(password)
    personal = choice.account_type is AccountType.PERSONAL
    try:
        async with svc.unit_of_work(info) as uow:
            user = await users.insert(
                email=email, password_hash=password_hash, name=name, now=uow.now,
                roles=[svc.settings.default_role], account_type=choice.account_type.value,
                nickname=choice.nickname, personal_profile_id=uuid.uuid4() if personal else None)
            await preferences.start(user.id)
            if choice.organization is not None:
                await create_organization(uow, user, choice.organization)
            uow.send(kinds.VERIFY_EMAIL, user=user)
            uow.audit(AuditAction.REGISTERED, user.id, account_type=choice.account_type.value)
    except Exception as exc:  # unique violation on a lost race (sqlite3 / asyncpg types differ)
        if "unique" in str(exc).lower():
            raise EmailTaken() from exc
        raise
    return user


async def register_personal(svc: Services, *, email: str, password: str, nickname: str,
                            info: RequestInfo) -> UserRecord:
    """The quick personal sign-up (API.md POST /v1/auth/register/personal): ``register`` of
    a personal account with a nickname and no name. raises as ``register`` (a blank
    ``nickname`` too)."""
    return await register(svc, email=email, password=password, name=None, info=info,
                          choice=AccountChoice(nickname=nickname), nickname_field="nickname")


def dashboard_url(settings: Settings, user: UserRecord) -> str:
    """Where the welcome email sends the person: APP_URL_ORGANIZATION (default APP_URL) for
    an organization account, APP_URL otherwise."""
    if user.account_type == AccountType.ORGANIZATION.value:
        return settings.organization_app_url
    return settings.app_url


async def verify_email(svc: Services, *, token: str, info: RequestInfo) -> None:
    """Consume a verify_email token, mark the address verified, queue the welcome email
    (with the account type's dashboard link, ``dashboard_url``).

    raises InvalidOneTimeToken (unknown, used, other purpose) or OneTimeTokenExpired.
    """
    async with svc.unit_of_work(info) as uow:
        record = await one_time_secrets.consume_link(purposes.VERIFY_EMAIL, token, now=uow.now)
        if await users.mark_email_verified(record.user_id, uow.now):
            user = await get_profile(record.user_id)
            uow.send(kinds.WELCOME, user=user,
                     data={"dashboard_url": dashboard_url(svc.settings, user)})
            uow.audit(AuditAction.EMAIL_VERIFIED, user.id)


async def resend_verification(svc: Services, *, email: str, info: RequestInfo) -> None:
    """Queue a fresh verification link for an unverified account; silently nothing for an
    unknown or already verified address (no account enumeration, OWASP ASVS 2.5.1)."""
    email = normalize_email(email)  # a malformed address reveals nothing: 400 is fine
    # counted for known and unknown addresses alike
    await svc.limit(RateLimit.VERIFY_EMAIL_RESEND_PER_ACCOUNT, email.lower())
    async with svc.unit_of_work(info) as uow:
        user = await users.get_by_email(email)
        if user is not None and user.email_verified_at is None:
            uow.send(kinds.VERIFY_EMAIL, user=user)


async def get_profile(user_id: uuid.UUID) -> UserRecord:
    """The user's record. raises NotFound."""
    user = await users.get_by_id(user_id)
    if user is None:
        raise NotFound()
    return user
