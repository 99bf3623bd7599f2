"""One helper for every multi-step write: a single database transaction."""

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from db.engine import DB


def transaction():
    """Open a transaction usable as ``async with transaction():``.

    SQLite: ``BEGIN IMMEDIATE`` so read-then-write sequences take the write lock up front and
    cannot deadlock or lose updates (ARCHITECTURE.md). PostgreSQL: a pooled connection, READ
    COMMITTED; races are closed by conditional ``UPDATE ... WHERE`` clauses.
    """
    if isinstance(DB, SQLiteEngine):
        return DB.transaction(transaction_type=TransactionType.immediate)
    return DB.transaction()
