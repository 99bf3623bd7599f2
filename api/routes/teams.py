"""Placeholder: filled in by the issue-13 work on teams."""

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
