"""Two-factor: TOTP, backup codes, the challenge, status, disable — /v1/auth/two-factor."""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
