"""The worker's cron jobs as one-shot commands, for an external scheduler.

``python -m scripts.cleanup``          delete expired tokens, dead sessions, old messages
``python -m scripts.cleanup --sweep``  re-enqueue lost outbox messages, re-sync the deny-list
"""

from __future__ import annotations

import argparse
import asyncio
import json

from scripts.bootstrap import bootstrap, settings_or_exit
from worker.tasks import delete_expired, sweep


async def run(do_sweep: bool) -> dict[str, int]:
    settings = settings_or_exit("cleanup", secrets_required=False)  # signs and hashes nothing
    container = await bootstrap(settings, pool_size=4)
    ctx = {"settings": settings, "clock": container.services.clock, "redis": container.redis,
           "container": container}
    try:
        return await (sweep(ctx) if do_sweep else delete_expired(ctx))
    finally:
        await container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="latchkey maintenance jobs")
    parser.add_argument("--sweep", action="store_true", help="outbox sweep instead of cleanup")
    print(json.dumps(asyncio.run(run(parser.parse_args().sweep))))


if __name__ == "__main__":
    main()
