from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (user_id, device_token) and (user_id, channel)"

# Piccolo declares single-column uniques only, and runs a migration's raw SQL before its
# tables are created: hence a migration of its own, after the one that made the tables.
INDEXES = (
    ("push_devices_user_token", "push_devices (user_id, device_token)"),
    ("notification_preferences_user_channel", "notification_preferences (user_id, channel)"),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="latchkey", description=DESCRIPTION)

    async def create():
        from piccolo.engine import engine_finder

        for name, target in INDEXES:
            await engine_finder().run_ddl(f"CREATE UNIQUE INDEX {name} ON {target}")

    async def drop():
        from piccolo.engine import engine_finder

        for name, _ in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
