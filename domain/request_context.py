"""The id of the request being served, for log lines and for the messages it causes.

The HTTP layer sets :data:`request_id` per request (api/observability.py: a client's
``X-Request-ID`` when a trusted proxy forwarded it, else a fresh uuid4 hex); the unit of work
copies it into each outbox row's data, and the worker sets it again while it delivers that
message, so the web and worker log lines about one sign-up share one id. Log lines get it
from here (scripts/logs.py). Not a secret, and never one: clients may choose it.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("latchkey_request_id", default=None)
"""The current request's id (≤ 64 characters of ``[A-Za-z0-9._-]``), or None outside a
request (scripts, cron jobs, the worker between messages)."""

OUTBOX_KEY = "request_id"  # the key of an outbox row's data that carries it to the worker
