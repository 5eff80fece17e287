"""The database handle, shared by every model, bound to SQLite or PostgreSQL at start-up."""
import datetime as dt
import os
import sqlite3
import time
from contextlib import closing

from urllib.parse import unquote, urlsplit

from peewee import DatabaseProxy, Model, SqliteDatabase, chunked
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
            private_file(path)
            _switch_to_wal(path)
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


def private_file(path: str):
    """Create `path` empty with mode 0600 if it does not exist (an empty file is an empty SQLite
    database), else take away the group and world bits. SQLite gives the -wal and -shm files
    the database file's mode, so they follow. Clinical records are nobody else's to read."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        try:
            mode = os.stat(path).st_mode & 0o777
            if mode & 0o077:
                os.chmod(path, mode & 0o700)
        except OSError:  # not ours to change (another owner): leave it as the admin set it
            pass


def _switch_to_wal(path: str) -> None:
    """Put the file in WAL mode (it stays so) before any pooled connection asks. Several
    processes starting at once on a new file (gunicorn's workers) would otherwise switch it
    together, and SQLite fails that switch with "database is locked" instead of waiting."""
    for attempt in range(100):
        try:
            with closing(sqlite3.connect(path, timeout=15)) as conn:
                conn.execute("PRAGMA journal_mode = wal")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.02)


def close_pool():
    """Close every pooled connection (before the handle is re-bound, and in tests)."""
    if db.obj is not None and hasattr(db.obj, "close_all"):
        if not db.is_closed():
            db.close()
        db.obj.close_all()


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


# --- single-row inserts without peewee's per-call SQL building ------------------------------------
# peewee builds an INSERT's SQL anew on every create(). insert_each builds it once per model and
# fields from the model's metadata (`_meta`) and marks the instance clean (`_dirty`): peewee
# internals, kept because bench/internals.py measured it worth it (an audit event on a cached
# plan view 12 % faster on SQLite, `flask library import` 14 % on PostgreSQL; bench/RESULTS.md).
# tests/test_library_internals.py fails loudly if those internals change.

_INSERTS: dict = {}


def _insert_sql(model, names, returning) -> tuple[str, list]:
    """One INSERT text for rows with the fields `names` (defaults added), and its fields;
    built once per model, fields and dialect."""
    key = (model, tuple(names), returning, db.param)
    built = _INSERTS.get(key)
    if built is None:
        built = _INSERTS[key] = _build_insert(model, names, returning)
    return built


def _build_insert(model, names, returning):
    fields = [model._meta.fields[name] for name in names]
    fields += [f for f in model._meta.defaults if f.name not in names]

    def quoted(name):
        return db.quote[0] + name + db.quote[1]  # our own identifiers: no quotes inside
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quoted(model._meta.table_name), ", ".join(quoted(f.column_name) for f in fields),
        ", ".join([db.param] * len(fields)))
    if returning:
        sql += " RETURNING " + quoted(model._meta.primary_key.column_name)
    return sql, fields


def _full(model, fields, row) -> dict:
    defaults = model._meta.defaults
    return {f.name: row[f.name] if f.name in row else
            (defaults[f]() if callable(defaults[f]) else defaults[f]) for f in fields}


def insert_each(model, rows: list[dict]) -> list:
    """Insert the rows one by one (their ids are needed in order); the saved instances."""
    if not rows:
        return []
    returning = not is_sqlite()
    sql, fields = _insert_sql(model, list(rows[0]), returning)
    out = []
    for row in rows:
        data = _full(model, fields, row)
        cursor = db.execute_sql(sql, [f.db_value(data[f.name]) for f in fields])
        instance = model(**data)
        setattr(instance, model._meta.primary_key.name,
                cursor.fetchone()[0] if returning else cursor.lastrowid)
        instance._dirty.clear()
        out.append(instance)
    return out


def insert_all(model, rows: list[dict]) -> None:
    """Insert rows that all have the same fields, in batches, with peewee's public insert_many.
    (Built by hand like insert_each it measured no faster on a goal save or an import:
    bench/internals.py, bench/RESULTS.md.) 100 rows a statement stays far below SQLite's
    limit on bound parameters."""
    for batch in chunked(rows, 100):
        model.insert_many(batch).execute()
