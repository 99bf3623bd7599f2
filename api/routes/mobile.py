"""Mobile device pairing — /v1/mobile (API.md)"""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
