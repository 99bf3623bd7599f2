"""Users and administration — /v1/users (API.md)"""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
