"""Placeholder: filled in by the issue-13 work on organizations."""

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
