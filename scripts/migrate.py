"""Apply every pending migration: ``python -m scripts.migrate`` (the Procfile's release step).

Uses DATABASE_URL like the app. On SQLite it also switches the file to WAL mode, which lets
the web and worker processes read while one of them writes.
"""

from __future__ import annotations

import asyncio
import os
import sys

os.environ.setdefault("PICCOLO_CONF", "db.piccolo_conf")


async def migrate() -> bool:
    """Apply all migrations; True on success."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from db.engine import DB, is_sqlite

    if is_sqlite():
        await DB.run_ddl("PRAGMA journal_mode=WAL")
    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not result.success:
        print(result.message, file=sys.stderr)
    return result.success


def main() -> None:
    sys.exit(0 if asyncio.run(migrate()) else 1)


if __name__ == "__main__":
    main()
