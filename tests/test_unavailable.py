"""The database goes away after start: every page is Stepwise's own 503, drawn without the
database, one log line per failed request (no traceback), and /healthz answers 503.
Real failures: a SQLite file replaced by a directory, a PostgreSQL database dropped, a
PostgreSQL port nobody listens on."""
import logging
import os
import socket
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from app import create_app
from core.db import close_pool
from tests.conftest import _PG_URL, TEST_CONFIG, Browserless, _pg_admin_connection


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def check_unavailable(app, signed_in, caplog):
    """Every kind of request answers 503 without the database, one log line each."""
    anonymous = Browserless(app)
    requests = [
        ("page", lambda: signed_in.get("/clients")),
        ("dashboard", lambda: signed_in.get("/")),
        ("htmx", lambda: signed_in.get("/clients?q=ad", headers={"HX-Request": "true"})),
        ("write", lambda: signed_in.post("/clients", data={"first_name": "X"})),
        ("sign-in page", lambda: anonymous.get("/login")),
        ("portal", lambda: anonymous.get("/portal/")),
    ]
    for name, send in requests:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = send()
        assert response.status_code == 503, (name, response.status_code)
        assert response.headers["Retry-After"] == "30"
        body = response.get_data(as_text=True)
        assert "The database cannot be reached right now." in body, name
        assert "Sign out" not in body and "Clinician A1" not in body
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, (name, [r.getMessage() for r in errors])
        assert errors[0].getMessage().startswith("database unavailable:")
        assert errors[0].exc_info is None and "Traceback" not in caplog.text
    page = signed_in.get("/clients").get_data(as_text=True)
    assert "<h1>503</h1>" in page and "stepwise.css" in page
    health = anonymous.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "error"


@pytest.fixture(params=[True, False], ids=["testing", "production-handlers"])
def sqlite_app(request, tmp_path):
    url = "sqlite:///" + str(tmp_path / "stepwise.db")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "TESTING": request.param})
    yield app, str(tmp_path / "stepwise.db")
    close_pool()


def signed_in_clinician(app):
    from core import accounts
    from core.db import db
    from core.models import Practice
    with db.connection_context():
        practice = Practice.create(name="P")
        accounts.create_user(practice, "a1@example.org", "Clinician A1",
                             "correct horse battery staple", "admin")
    c = Browserless(app)
    assert c.login("a1@example.org", "correct horse battery staple").status_code == 303
    assert c.get("/clients").status_code == 200
    return c


def test_sqlite_file_gone_after_start(sqlite_app, caplog):
    app, path = sqlite_app
    c = signed_in_clinician(app)
    close_pool()  # connections still open would keep reading the unlinked file
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    os.mkdir(path)  # in its place something SQLite cannot open, even as root
    check_unavailable(app, c, caplog)


def test_postgresql_port_closed(caplog, tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/stepwise"
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "AUTO_UPGRADE": False})
    try:
        check_unavailable(app, Browserless(app), caplog)
    finally:
        close_pool()


@pytest.mark.skipif(not _PG_URL, reason="TEST_DATABASE_URL not set")
def test_postgresql_database_dropped_after_start(caplog):
    name = f"stepwise_gone_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _pg_admin_connection(_PG_URL)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    app = create_app({**TEST_CONFIG,
                      "DATABASE_URL": urlunsplit(urlsplit(_PG_URL)._replace(path="/" + name))})
    try:
        c = signed_in_clinician(app)
        with admin.cursor() as cur:  # pooled connections are cut off with it
            cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        check_unavailable(app, c, caplog)
    finally:
        close_pool()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
