"""The database handle, shared by every model, bound to SQLite or PostgreSQL at start-up."""
import datetime as dt
import os

from urllib.parse import unquote, urlsplit

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

db = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def utcnow() -> dt.datetime:
    """Naive UTC timestamp (both backends store it the same way)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


POOL = {"max_connections": 32, "stale_timeout": 300}


def make_database(url: str):
    """Build a pooled peewee database from a URL: sqlite:///path or postgresql://...

    Pooled, because opening a connection per request (a backend process on PostgreSQL, five
    PRAGMAs on SQLite) cost more than most of Stepwise's queries.
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # WAL lets readers run beside a writer; BEGIN IMMEDIATE takes the write lock up front,
        # so a read-then-write transaction never deadlocks into "database is locked".
        # A pooled connection may serve another thread later, one thread at a time.
        return PooledSqliteDatabase(
            path, lock_type="IMMEDIATE", timeout=15, check_same_thread=False, **POOL,
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 15000,
                     "synchronous": "normal", "cache_size": -16000})
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        params = {"host": parts.hostname or None, "port": parts.port,
                  "user": unquote(parts.username) if parts.username else None,
                  "password": unquote(parts.password) if parts.password else None}
        return PooledPostgresqlDatabase(parts.path.lstrip("/"), **POOL,
                                        **{k: v for k, v in params.items() if v is not None})
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


def close_pool():
    """Close every pooled connection (before the handle is re-bound, and in tests)."""
    if db.obj is not None and hasattr(db.obj, "close_all"):
        if not db.is_closed():
            db.close()
        db.obj.close_all()


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)
