from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T14:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique identity links (issuer, subject) and SCIM ids per organization"

# Composite uniques need raw SQL, which Piccolo runs before a migration's tables are created:
# hence a migration of its own after m0008 (as m0004 after m0003). NULLs never collide, so
# members and teams that SCIM did not provision carry no ids. userName is caseExact=false
# (RFC 7643 §4.1.1): unique whatever the letter case.
INDEXES = (
    ("identity_links_issuer_subject", "identity_links (issuer, subject)"),
    ("memberships_organization_scim_external_id", "memberships (organization_id, scim_external_id)"),
    ("memberships_organization_scim_user_name",
     "memberships (organization_id, lower(scim_user_name))"),
    ("teams_organization_scim_external_id", "teams (organization_id, scim_external_id)"),
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
