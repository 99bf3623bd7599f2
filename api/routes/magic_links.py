"""Magic links — /v1/auth/magic-link (API.md)"""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
