"""The SQLite database (with its -wal and -shm files) and backups are private files (0600),
like the secret key, whatever the umask."""
import os
import stat
import sqlite3

import pytest

from app import create_app
from core.db import close_pool, private_file
from core.models import Client
from tests.conftest import TEST_CONFIG, in_db


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    old = os.umask(0o022)  # the common default, under which files come out 0644
    yield
    os.umask(old)


def test_new_sqlite_database_and_its_wal_files_are_private(tmp_path, world_free_app):
    app, path = world_free_app
    with in_db():  # a write with the connection open: -wal and -shm exist now
        Client.select().count()
        from core.models import Practice
        Practice.create(name="P")
        for suffix in ("", "-wal", "-shm"):
            assert os.path.exists(path + suffix), suffix
            assert mode(path + suffix) == 0o600, (suffix, oct(mode(path + suffix)))


@pytest.fixture
def world_free_app(tmp_path):
    path = str(tmp_path / "data" / "stepwise.db")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite:///" + path})
    yield app, path
    close_pool()


def test_existing_world_readable_database_is_tightened(tmp_path):
    path = str(tmp_path / "old.db")
    sqlite3.connect(path).close()
    os.chmod(path, 0o644)
    app = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite:///" + path})
    try:
        assert mode(path) == 0o600
    finally:
        close_pool()


def test_private_file_keeps_owner_bits_and_creates_0600(tmp_path):
    fresh = tmp_path / "fresh"
    private_file(str(fresh))
    assert mode(fresh) == 0o600 and fresh.stat().st_size == 0
    executable = tmp_path / "tool"
    executable.write_text("")
    os.chmod(executable, 0o755)
    private_file(str(executable))
    assert mode(executable) == 0o700


def test_backups_are_private_on_every_backend(app, world, runner, tmp_path, database_url):
    target = tmp_path / "stepwise.backup"
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0 and mode(target) == 0o600
    # Over an older, world-readable backup file: private afterwards too.
    again = tmp_path / "again.backup"
    again.write_text("old")
    os.chmod(again, 0o644)
    assert runner.invoke(args=["db", "backup", str(again)]).exit_code == 0
    assert mode(again) == 0o600
    if database_url.startswith("sqlite"):
        assert runner.invoke(args=["db", "restore", "--yes", str(target)]).exit_code == 0
        assert mode(database_url[len("sqlite:///"):]) == 0o600
