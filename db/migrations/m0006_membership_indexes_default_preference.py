from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique memberships and team memberships; every account gets an email preference"

# Composite uniques need raw SQL, which Piccolo runs before a migration's tables are created:
# hence a migration of its own after m0005 (as m0004 after m0003).
INDEXES = (
    ("memberships_organization_user", "memberships (organization_id, user_id)"),
    ("team_memberships_team_user", "team_memberships (team_id, user_id)"),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="latchkey", description=DESCRIPTION)

    async def create():
        import uuid

        from piccolo.engine import engine_finder
        from piccolo.querystring import QueryString

        engine = engine_finder()
        for name, target in INDEXES:
            await engine.run_ddl(f"CREATE UNIQUE INDEX {name} ON {target}")
        # Issue 13: alerts reach people from their first day, so every account without a
        # preference list starts with [{email, enabled, priority 1}], like a new account.
        rows = await engine.run_querystring(QueryString(
            "SELECT id FROM users WHERE deleted_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM notification_preferences p WHERE p.user_id = users.id)"))
        for row in rows or []:
            await engine.run_querystring(QueryString(
                "INSERT INTO notification_preferences (id, user_id, channel, enabled, priority) "
                "VALUES ({}, {}, 'email', TRUE, 1)", uuid.uuid4(), row["id"]))

    async def drop():
        from piccolo.engine import engine_finder

        for name, _ in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
