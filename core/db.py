"""The database handle, shared by every model, bound to SQLite or PostgreSQL at start-up."""
import datetime as dt
import os

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect as connect_url

db = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def utcnow() -> dt.datetime:
    """Naive UTC timestamp (both backends store it the same way)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def make_database(url: str):
    """Build a peewee database from a URL: sqlite:///path or postgresql://..."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # WAL lets readers run beside a writer; BEGIN IMMEDIATE takes the write lock up front,
        # so a read-then-write transaction never deadlocks into "database is locked".
        return SqliteDatabase(
            path,
            lock_type="IMMEDIATE",
            timeout=15,
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 15000,
                     "synchronous": "normal", "cache_size": -16000},
        )
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql://" + url.split("://", 1)[1]
        return connect_url(url)
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)
