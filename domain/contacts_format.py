"""Phone numbers and masked contact values, shared by two-factor SMS, contact verification
and the audit trail."""

from __future__ import annotations

import phonenumbers

from domain.errors import ValidationFailed


def normalize_phone(value: str, *, field: str = "phoneNumber") -> str:
    """``value`` as E.164 (``+14155552671``); it must be written in international form and be
    a valid number (Google's libphonenumber rules, via ``phonenumbers``).
    raises ValidationFailed naming ``field``."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    e164 = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if number is not None else "")
    # E.164 allows 15 digits; libphonenumber accepts a few longer numbers that no column holds
    if (number is None or not value.strip().startswith("+") or len(e164) > 16
            or not phonenumbers.is_valid_number(number)):
        raise ValidationFailed([(field, "must be a valid phone number in E.164 form, "
                                        "like +14155552671")])
    return e164


def calling_code(e164: str) -> int:
    """The country calling code of an E.164 number (``+44...`` → 44)."""
    return phonenumbers.parse(e164, None).country_code


def mask_email(address: str) -> str:
    """``ab***@example.com``: enough for its owner to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}***@{domain}"


def mask_phone(e164: str) -> str:
    """``+1******4567``: the calling code and the last four digits."""
    code = str(calling_code(e164)) if e164.startswith("+") else ""
    digits = e164.lstrip("+")[len(code):]
    return f"+{code}{'*' * max(0, len(digits) - 4)}{digits[-4:]}"
