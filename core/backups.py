"""Back up and restore the whole database with one command each.

SQLite uses its online backup API (a consistent copy even while the app writes); PostgreSQL uses
pg_dump / pg_restore in the custom format.
"""
import os
import shutil
import sqlite3
import subprocess

from core.db import db, private_file


class BackupError(RuntimeError):
    pass


def _sqlite_path(url: str) -> str | None:
    return url[len("sqlite:///"):] if url.startswith("sqlite:///") else None


def backup(url: str, target: str):
    path = _sqlite_path(url)
    if path:
        # Into a fresh private file beside the target, then renamed over it: an older file
        # there (of any mode or content) is replaced whole, never half-overwritten.
        partial = f"{target}.partial-{os.getpid()}"
        if os.path.exists(partial):
            os.remove(partial)
        try:
            _copy_sqlite(sqlite3.connect(path), partial)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return
    private_file(target)  # pg_dump writes into it and keeps the mode
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", target, _pg(url)])


def restore(url: str, source_file: str):
    path = _sqlite_path(url)
    if path:
        try:
            source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
            source.execute("SELECT version FROM schema_version").fetchall()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source_file} is not a Stepwise SQLite backup ({exc})") from exc
        if not db.is_closed():
            db.close()
        _copy_sqlite(source, path)
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--dbname", _pg(url), source_file])


def _copy_sqlite(source: sqlite3.Connection, target_path: str):
    """SQLite's online backup from an open connection into the file at target_path (0600)."""
    private_file(target_path)
    dest = sqlite3.connect(target_path)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def _pg(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _run(command):
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    # umask: whatever the tool creates besides the target is private too.
    result = subprocess.run(command, capture_output=True, text=True, umask=0o077)
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{command[0]} failed")
