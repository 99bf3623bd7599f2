"""Passwordless sign-in: magic links emailed to the account's address (issue 8)."""

from domain.passwordless.magic_links import request_magic_link, verify_magic_link

__all__ = ["request_magic_link", "verify_magic_link"]
