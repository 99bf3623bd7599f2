"""SMS two-factor: enrol, verify and the SMS challenge — /v1/auth/two-factor (API.md)"""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
