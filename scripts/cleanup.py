"""The worker's cron jobs as one-shot commands, for an external scheduler.

``python -m scripts.cleanup``          delete expired tokens, dead sessions, old messages
``python -m scripts.cleanup --sweep``  re-enqueue lost outbox messages, re-sync the deny-list
"""

from __future__ import annotations

import argparse
import asyncio
import json

from arq import create_pool
from arq.connections import RedisSettings

from db.engine import close_pool, open_pool
from domain.clock import utcnow
from domain.settings import Settings
from worker.tasks import delete_expired, sweep


async def run(do_sweep: bool) -> dict[str, int]:
    settings = Settings.from_env()
    ctx: dict = {"settings": settings, "clock": utcnow}
    own_pool = await open_pool(4)
    try:
        if not do_sweep:
            return await delete_expired(ctx)
        ctx["redis"] = await create_pool(RedisSettings.from_dsn(settings.redis_url))
        try:
            return await sweep(ctx)
        finally:
            await ctx["redis"].aclose()
    finally:
        if own_pool:
            await close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description="latchkey maintenance jobs")
    parser.add_argument("--sweep", action="store_true", help="outbox sweep instead of cleanup")
    print(json.dumps(asyncio.run(run(parser.parse_args().sweep))))


if __name__ == "__main__":
    main()
