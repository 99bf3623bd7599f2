"""Contact verification, notification preferences and push devices — /v1/notifications (API.md)"""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
