"""Test package. Importing it first points DATABASE_URL/REDIS_URL at this run's private
database and Redis (tests.environment), before any app module binds its engine."""

from tests import environment  # noqa: F401
