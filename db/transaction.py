"""One helper for every multi-step write: a single database transaction."""

from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from db.engine import current


def transaction() -> Any:
    """Open a transaction usable as ``async with transaction():``.

    SQLite: ``BEGIN IMMEDIATE`` so read-then-write sequences take the write lock up front and
    cannot deadlock or lose updates (ARCHITECTURE.md). PostgreSQL: a pooled connection, READ
    COMMITTED; races are closed by conditional ``UPDATE ... WHERE`` clauses and row locks.
    """
    engine = current()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
