"""What an account is at sign-up (issue 13, API.md POST /v1/auth/register): ``personal`` (the
default; it gets a personal profile, the id of its personal context) or ``organization`` (it
creates an organization and becomes its owner; no personal profile). Checked in full before
the password is hashed or the database is touched, so a bad body costs nothing and answers
alike whether or not the address has an account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from domain.accounts.emails import normalize_email
from domain.errors import ValidationFailed
from domain.names import AccountType
from domain.organizations.creation import OrganizationFields, check_name, check_timezone


@dataclass(frozen=True, slots=True)
class AccountChoice:
    """account_type: what the account is; organization: required for, and only for, an
    organization account; nickname: a personal account's (API.md ``personal.nickname``)."""

    account_type: AccountType = AccountType.PERSONAL
    organization: OrganizationFields | None = None
    nickname: str | None = None


PERSONAL = AccountChoice()


def _optional(value: str | None) -> str | None:
    """Trimmed; None when nothing is left."""
    return (value.strip() or None) if value is not None else None


def _checked(errors: list[tuple[str, str]], field: str,
             check: Callable[[str | None], str | None], value: str | None) -> str | None:
    """``check(value)``; its ValidationFailed is collected in ``errors`` under ``field``."""
    try:
        return check(value)
    except ValidationFailed as exc:
        errors.extend((field, message) for _, message in exc.errors)
        return value


def _organization(fields: OrganizationFields, errors: list[tuple[str, str]]
                  ) -> OrganizationFields:
    contact = _optional(fields.contact_email)
    return OrganizationFields(
        name=_checked(errors, "organization.name", lambda v: check_name(v or ""), fields.name)
        or "",
        legal_business_name=_optional(fields.legal_business_name),
        dba_name=_optional(fields.dba_name),
        contact_email=_checked(errors, "organization.contactEmail",
                               lambda v: normalize_email(v) if v else None, contact),
        timezone=_checked(errors, "organization.timezone", check_timezone, fields.timezone))


def check_choice(choice: AccountChoice, *, nickname_field: str = "personal.nickname"
                 ) -> AccountChoice:
    """The choice cleaned: blanks trimmed, the organization's name, IANA timezone (default
    UTC) and contact email checked. raises ValidationFailed naming every bad field
    (``organization`` missing or not allowed, ``personal`` not allowed,
    ``organization.name|timezone|contactEmail``, ``nickname_field`` blank)."""
    errors: list[tuple[str, str]] = []
    organization = choice.organization
    nickname = _optional(choice.nickname)
    if choice.account_type is AccountType.ORGANIZATION:
        if organization is None:
            errors.append(("organization", "is required when accountType is organization"))
        if choice.nickname is not None:
            errors.append(("personal", "is only for accountType personal"))
    elif organization is not None:
        errors.append(("organization", "is only for accountType organization"))
    elif choice.nickname is not None and nickname is None:
        errors.append((nickname_field, "must not be blank"))
    if organization is not None:
        organization = _organization(organization, errors)
    if errors:
        raise ValidationFailed(errors)
    return replace(choice, organization=organization, nickname=nickname)
