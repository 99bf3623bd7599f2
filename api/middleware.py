"""ASGI middleware of the web app, outermost first (wired in api/app.py)."""

from __future__ import annotations

from typing import Any

MIDDLEWARE: list[Any] = []
