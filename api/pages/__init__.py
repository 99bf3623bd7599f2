"""Hosted pages behind the links in emails (verify email, reset password): small server-rendered
HTML, served when ``settings.serves_pages``."""

from __future__ import annotations

from typing import Any

from domain.settings import Settings


def build(settings: Settings) -> tuple[list[Any], Any]:
    """(route handlers, Litestar TemplateConfig or None) for the hosted pages."""
    return [], None
