"""Piccolo app: the tables and where their migrations live."""

import os

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="latchkey",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=table_finder(modules=["db.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
