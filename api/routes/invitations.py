"""Placeholder: filled in by the issue-13 work on invitations."""

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
