"""Piccolo configuration (PICCOLO_CONF=db.piccolo_conf), used by the migrations machinery.

``python -m scripts.migrate`` binds the engine first and this reuses it; the bare
``piccolo`` CLI (e.g. ``piccolo migrations new``) gets the engine of ``DATABASE_URL`` through
Settings, like every process.
"""

from piccolo.conf.apps import AppRegistry

from db import engine
from domain.settings import Settings

__all__ = ["APP_REGISTRY", "DB"]

try:
    DB = engine.current()
except RuntimeError:
    DB = engine.bind(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(apps=["db.piccolo_app"])
