"""SCIM discovery (placeholder until its author fills it)."""

from __future__ import annotations

from typing import Any

HANDLERS: list[Any] = []
