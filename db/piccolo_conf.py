"""Piccolo configuration (PICCOLO_CONF=db.piccolo_conf), used by the migrations CLI."""

from piccolo.conf.apps import AppRegistry

from db.engine import DB

__all__ = ["APP_REGISTRY", "DB"]

APP_REGISTRY = AppRegistry(apps=["db.piccolo_app"])
