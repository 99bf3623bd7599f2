from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T11:58:50:146567"
VERSION = "1.38.0"
DESCRIPTION = "True"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="latchkey", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Session",
        tablename="sessions",
        column_name="auth_time",
        db_column_name="auth_time",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def personal_profiles():
        import uuid

        from piccolo.engine import engine_finder
        from piccolo.querystring import QueryString

        # Issue 13: every personal account has a personal context to switch to, also those
        # made before account types existed (the column came in m0005).
        engine = engine_finder()
        rows = await engine.run_querystring(QueryString(
            "SELECT id FROM users WHERE account_type = 'personal' AND deleted_at IS NULL "
            "AND personal_profile_id IS NULL"))
        for row in rows or []:
            await engine.run_querystring(QueryString(
                "UPDATE users SET personal_profile_id = {} WHERE id = {}", uuid.uuid4(),
                row["id"]))

    manager.add_raw(personal_profiles)
    return manager
