"""Accounts: registration, email verification, the profile."""

from domain.accounts.emails import normalize_email
from domain.accounts.registration import (
    get_profile,
    register,
    register_personal,
    resend_verification,
    verify_email,
)

__all__ = ["get_profile", "normalize_email", "register", "register_personal",
           "resend_verification", "verify_email"]
