"""Logging for the web and worker processes: one format for every line, ours and libraries'.

structlog renders the standard ``logging`` records (``logging.getLogger("latchkey…")``,
arq's, uvicorn's) through its ``ProcessorFormatter``, so nothing has to change where lines are
written. ``LOG_FORMAT=json`` gives one JSON object per line (``timestamp``, ``level``,
``logger``, ``event``, ``request_id`` and any structured fields), the default in production;
``console`` gives readable lines, the default elsewhere. ``request_id`` comes from
:data:`domain.request_context.request_id`: set per HTTP request, and in the worker while it
delivers a message that request caused.

Levels: our ``latchkey.*`` loggers, arq and uvicorn at INFO (arq DEBUG with ``-v``); every
other library at WARNING, so a client library's request dumps never reach the log. Nothing
here logs a secret; exceptions print plain tracebacks, never local variables.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import IO, Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from domain.request_context import request_id
from domain.settings import Settings, SettingsError

# structured fields our own lines pass with ``extra=``; other record attributes stay out
FIELDS = ("message_id", "kind", "channel", "outcome", "attempt")
ROUTED_TO_ROOT = ("uvicorn", "uvicorn.error", "uvicorn.access", "arq")  # their own handlers go
_MARK = "_latchkey_handler"


def add_request_id(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """structlog processor: the current request's id (None outside one) as ``request_id``."""
    event.setdefault("request_id", request_id.get())
    return event


def drop_empty_request_id(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Console lines name the request id only when there is one."""
    if event.get("request_id") is None:
        event.pop("request_id", None)
    return event


def log_format(settings: Settings) -> str:
    """``json`` or ``console``: LOG_FORMAT when set, else JSON in production only."""
    if settings.log_format:
        return settings.log_format
    return "json" if settings.environment == "production" else "console"


def _common() -> list[Processor]:
    return [structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True), add_request_id]


def formatter(fmt: str, *, colors: bool = False) -> structlog.stdlib.ProcessorFormatter:
    """The ``logging.Formatter`` for ``fmt`` (``json`` | ``console``)."""
    pre = [*_common(), structlog.stdlib.ExtraAdder(allow=FIELDS)]
    final: list[Processor]
    if fmt == "json":
        final = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:  # plain tracebacks: rich's would print local variables (passwords, tokens)
        final = [drop_empty_request_id, structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final])


def configure_logging(settings: Settings, *, verbose: bool = False,
                      stream: IO[str] | None = None) -> None:
    """Send every log record to ``stream`` (default stderr) in the settings' format.

    Idempotent: replaces the handler an earlier call installed and leaves other handlers
    (pytest's) alone. uvicorn's and arq's own handlers are removed so their lines come out
    in the same format. verbose: arq at DEBUG (``python -m worker -v``).
    """
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format(settings), colors=_isatty(stream)))
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ROUTED_TO_ROOT:
        routed = logging.getLogger(name)
        if name == "uvicorn.access" and not routed.handlers and not routed.propagate:
            continue  # --no-access-log: uvicorn turned it off; keep it off
        routed.handlers.clear()
        routed.propagate = True
    logging.getLogger("latchkey").setLevel(logging.INFO)
    logging.getLogger("uvicorn").setLevel(logging.INFO)
    logging.getLogger("arq").setLevel(logging.DEBUG if verbose else logging.INFO)
    structlog.configure(  # for code that logs through structlog.get_logger()
        processors=[structlog.stdlib.filter_by_level, *_common(),
                    structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger, cache_logger_on_first_use=True)


def configure_from_env(env: Mapping[str, str] | None = None, **options: Any) -> None:
    """:func:`configure_logging` from the environment, before the entry point reads its
    settings (so even the first warnings come out formatted). An unusable environment logs
    in the production format; the entry point then exits naming the problem."""
    try:
        settings = Settings.from_env(env, secrets_required=False)
    except SettingsError:
        settings = Settings()
    configure_logging(settings, **options)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
