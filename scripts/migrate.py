"""Apply every pending migration: ``python -m scripts.migrate`` (the Procfile's release step).

Uses ``DATABASE_URL`` through Settings like every process. On SQLite it also switches the
file to WAL mode, which lets the web and worker processes read while one of them writes.
"""

from __future__ import annotations

import asyncio
import os
import sys

from domain.settings import Settings

os.environ.setdefault("PICCOLO_CONF", "db.piccolo_conf")  # where Piccolo finds the engine


async def migrate(settings: Settings | None = None) -> bool:
    """Apply all migrations to ``settings.database_url`` (default: from the environment);
    True on success."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from db.engine import is_sqlite
    from scripts.bootstrap import bind_database, settings_or_exit

    engine = bind_database(settings or settings_or_exit("migrate", secrets_required=False))
    if is_sqlite():
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not result.success:
        print(result.message, file=sys.stderr)
    return result.success


def main() -> None:
    sys.exit(0 if asyncio.run(migrate()) else 1)


if __name__ == "__main__":
    main()
