"""The worker's cron jobs as one-shot commands, for an external scheduler.

``python -m scripts.cleanup``          delete expired tokens, dead sessions, old messages
``python -m scripts.cleanup --sweep``  re-enqueue lost outbox messages, re-sync the deny-list
"""

from __future__ import annotations

import argparse
import asyncio
import json

from db.engine import close_pool, open_pool
from domain.clock import utcnow
from scripts.bootstrap import bind_database, bootstrap, settings_or_exit
from worker.tasks import delete_expired, sweep


async def run(do_sweep: bool) -> dict[str, int]:
    settings = settings_or_exit("cleanup", secrets_required=False)  # signs and hashes nothing
    if not do_sweep:  # the database alone: a Redis outage must not stop the cleanup
        bind_database(settings)
        own_pool = await open_pool(4)
        try:
            return await delete_expired({"settings": settings, "clock": utcnow})
        finally:
            if own_pool:
                await close_pool()
    container = await bootstrap(settings, pool_size=4)
    ctx = {"settings": settings, "clock": container.services.clock, "redis": container.redis,
           "container": container}
    try:
        return await sweep(ctx)
    finally:
        await container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="latchkey maintenance jobs")
    parser.add_argument("--sweep", action="store_true", help="outbox sweep instead of cleanup")
    print(json.dumps(asyncio.run(run(parser.parse_args().sweep))))


if __name__ == "__main__":
    main()
