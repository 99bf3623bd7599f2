"""Dead letters from a shell: the same list and replay as /v1/admin/messages, audited with no
actor (an operator on the host).

``python -m scripts.messages list [--status failed] [--limit N] [--cursor C] [--json]``
    newest first: id, status, attempts, kind, channel, masked recipient, created, last error
    (``--json``: the API's page, ``{"items": [...], "nextCursor": ...}``)
``python -m scripts.messages retry ID``
    a failed message back to pending, attempts reset, queued; the worker mints a fresh link or
    code when it sends. Exit 1 for an unknown id or a message that is not failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from typing import Any

from domain.errors import DomainError, ValidationFailed
from domain.messages import dead_letters
from domain.messages.dead_letters import MessageView
from domain.services import RequestInfo
from scripts.bootstrap import bootstrap, settings_or_exit

SHELL = RequestInfo(user_agent="scripts.messages")


def as_json(message: MessageView) -> dict[str, Any]:
    """The API's item (camelCase, RFC 3339 timestamps)."""
    return {"id": str(message.id), "kind": message.kind, "channel": message.channel,
            "recipient": message.recipient, "status": message.status,
            "attempts": message.attempts, "lastError": message.last_error,
            "createdAt": message.created_at.isoformat(),
            "sentAt": message.sent_at.isoformat() if message.sent_at else None}


def table(items: list[MessageView], next_cursor: str | None) -> str:
    lines = [f"{m.id}  {m.status:<7}  {m.attempts:>2}  {m.kind:<24} {m.channel:<5} "
             f"{m.recipient:<28} {m.created_at:%Y-%m-%d %H:%M:%S}  {m.last_error or ''}"
             for m in items]
    if next_cursor:
        lines.append(f"more: --cursor {next_cursor}")
    return "\n".join(lines) if lines else "no messages"


async def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit("messages", secrets_required=False)  # signs nothing
    container = await bootstrap(settings, pool_size=2)
    try:
        svc = container.services
        if args.command == "list":
            items, next_cursor = await dead_letters.list_messages(
                svc, actor_id=None, info=SHELL, status=args.status, limit=args.limit,
                cursor=args.cursor)
            print(json.dumps({"items": [as_json(m) for m in items], "nextCursor": next_cursor})
                  if args.json else table(items, next_cursor))
            return 0
        message = await dead_letters.retry(svc, args.id, actor_id=None, info=SHELL)
        print(json.dumps({"id": str(message.id), "status": "pending"}))
        return 0
    except DomainError as exc:
        print(f"latchkey messages: {exc.detail}", file=sys.stderr)
        return 2 if isinstance(exc, ValidationFailed) else 1
    finally:
        await container.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.messages",
                                     description="latchkey outbox: dead letters and replay")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="messages, newest first")
    listing.add_argument("--status", choices=dead_letters.STATUSES)
    listing.add_argument("--limit", type=int, default=50, help="1..100 (default 50)")
    listing.add_argument("--cursor", help="the 'more' cursor of the previous page")
    listing.add_argument("--json", action="store_true", help="the API's JSON page")
    retry = commands.add_parser("retry", help="send a failed message again")
    retry.add_argument("id", type=uuid.UUID, help="the message id (from list)")
    return parser.parse_args(argv)


def main() -> None:
    raise SystemExit(asyncio.run(run(parse())))


if __name__ == "__main__":
    main()
