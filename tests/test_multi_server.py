"""Several app servers on one database: the deployment the README describes, for real.

Two gunicorn servers (`-w 2` each) on different ports share one PostgreSQL scratch database, one
Redis and one SECRET_KEY. Spoken to over plain HTTP with one cookie jar, as a browser would:
a goal changed through server 1 shows at once on server 2 (whose plan page cache already holds
the old page), signing out on server 1 ends the session on server 2, and failed sign-ins spread
over both servers reach the one account limit.

Needs PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL, default db 14 on 127.0.0.1:6379).
Without TEST_DATABASE_URL the test is skipped (a SQLite-only run); with it, a missing PostgreSQL
or Redis fails the test, so CI cannot pass without having run it.
"""
import http.client
import http.cookies
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from tests.conftest import parse_forms, pick_form

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "multi-server-shared-" + uuid.uuid4().hex
PASSWORD = "correct horse battery staple"
ACCOUNT_LIMIT = 4  # LOGIN_LIMIT_PER_ACCOUNT for the servers: 2 failures on each reach it


def _unavailable(message):
    if not PG_URL:
        pytest.skip("two servers on one database need PostgreSQL: set TEST_DATABASE_URL")
    pytest.fail(message, pytrace=False)


# --- the shared services --------------------------------------------------------------------

@pytest.fixture(scope="module")
def redis_url():
    import redis
    store = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        store.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable at {REDIS_URL} ({exc}). Several app servers share "
                     "their sign-in limits through Redis; start it (Debian: apt-get install "
                     "redis-server) or point TEST_REDIS_URL at one.")
    finally:
        store.close()
    return REDIS_URL


@pytest.fixture(scope="module")
def scratch_pg():
    """A PostgreSQL database of this module's own, dropped afterwards."""
    if not PG_URL:
        _unavailable("")
    import psycopg2
    parts = urlsplit(PG_URL)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        conn = psycopg2.connect(admin_url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        _unavailable(f"PostgreSQL is not reachable at {admin_url} ({exc}).")
    conn.autocommit = True
    name = f"stepwise_multi_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="module")
def seeded(scratch_pg):
    """Schema and records, written in this process before any server starts."""
    from app import create_app
    from core import accounts, goals, plans
    from core.db import close_pool, db
    from core.models import Client, Practice
    create_app({"TESTING": True, "SECRET_KEY": SECRET, "DATABASE_URL": scratch_pg,
                "PASSWORD_METHOD": "pbkdf2:sha256:1000"})
    tag = uuid.uuid4().hex[:8]
    with db.connection_context():
        practice = Practice.create(name="Two servers")
        clinician = accounts.create_user(practice, f"clin-{tag}@example.org", "Clin", PASSWORD)
        limited = accounts.create_user(practice, f"limited-{tag}@example.org", "Lim", PASSWORD)
        client = Client.create(practice=practice, first_name="Ada", last_name="Lovelace",
                               presenting_problem="anxiety", primary_clinician=clinician)
        plan = plans.create_blank_plan(clinician, client, "Shared plan")
        goal = goals.add_goal(clinician, plan, {"title": "Walk to the corner shop"})
        seeded = dict(clinician=clinician.email, limited=limited.email, plan=plan.id, goal=goal.id)
    close_pool()
    return seeded


# --- two gunicorn servers -------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _start(env, log_path):
    """gunicorn -w 2 on a free port; a lost race for the port is retried on another."""
    for _attempt in range(3):
        port = _free_port()
        log = open(log_path, "ab")
        proc = subprocess.Popen([str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{port}",
                                 "app:create_app()"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if _healthy(port):
                return proc, port
            time.sleep(0.2)
        _stop(proc)
    pytest.fail(f"gunicorn did not come up; its log:\n{Path(log_path).read_text()[-3000:]}",
                pytrace=False)


def _stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def servers(seeded, scratch_pg, redis_url, tmp_path_factory):
    base = tmp_path_factory.mktemp("multi")
    started = []
    try:
        for n in (1, 2):
            env = {**os.environ, "DATABASE_URL": scratch_pg, "SECRET_KEY": SECRET,
                   "RATELIMIT_STORAGE_URI": redis_url, "STEPWISE_INSTANCE": str(base / f"i{n}"),
                   "LOGIN_LIMIT_PER_ACCOUNT": f"{ACCOUNT_LIMIT} per 15 minutes",
                   "LOGIN_LIMIT_PER_ADDRESS": "1000 per 15 minutes", "TRUST_PROXY": "0"}
            started.append(_start(env, base / f"gunicorn-{n}.log"))
        yield [port for _proc, port in started]
    finally:
        for proc, _port in started:
            _stop(proc)


@pytest.fixture(scope="module")
def source_ip(redis_url, seeded):
    """A loopback address of this run's own, so its counters in Redis are its own; they are
    deleted afterwards (only keys naming this address or this run's accounts)."""
    ip = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"
    yield ip
    import redis
    store = redis.Redis.from_url(redis_url)
    try:
        for mark in (ip, seeded["limited"], seeded["clinician"]):
            for key in store.scan_iter(match=f"*{mark}*"):
                store.delete(key)
    finally:
        store.close()


# --- a browser without a browser ------------------------------------------------------------

class Browser:
    """HTTP/1.1 with one cookie jar for every server: cookies do not care about ports."""

    def __init__(self, source_ip):
        self.source_ip = source_ip
        self.cookies = {}

    def request(self, port, method, path, form=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                          source_address=(self.source_ip, 0))
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers, text

    def get(self, port, path):
        return self.request(port, "GET", path)

    def submit(self, port, page, data, action=None):
        """Post the page's own form: its fields, its CSRF token, `data` filled in."""
        status, _headers, html = self.get(port, page)
        assert status == 200, f"GET {page} on :{port} -> {status}"
        form = pick_form(parse_forms(html), action, page)
        return self.request(port, "POST", form.action or page,
                            list(form.values(data).items(multi=True)))

    def sign_in(self, port, email, password=PASSWORD):
        return self.submit(port, "/login", {"email": email, "password": password})


# --- the checks -----------------------------------------------------------------------------

def test_a_change_through_one_server_shows_at_once_on_the_other(servers, seeded, source_ip):
    one, two = servers
    b = Browser(source_ip)
    assert b.sign_in(two, seeded["clinician"])[0] == 303
    plan_page = f"/plans/{seeded['plan']}"
    for _ in range(6):  # every worker of server 2 renders, and caches, the page as it is now
        status, _h, html = b.get(two, plan_page)
        assert status == 200 and "Walk to the corner shop" in html

    goal = seeded["goal"]
    status, headers, _ = b.submit(one, f"/goals/{goal}/edit",
                                  {"title": "Walk to the park and back"}, action=f"/goals/{goal}")
    assert status == 303, "the edit through server 1 was not saved"

    for _ in range(6):
        status, _h, html = b.get(two, plan_page)
        assert status == 200
        assert "Walk to the park and back" in html, "server 2 showed the plan from before the change"
        assert "Walk to the corner shop" not in html


def test_signing_out_on_one_server_ends_the_session_on_the_other(servers, seeded, source_ip):
    one, two = servers
    b = Browser(source_ip)
    assert b.sign_in(one, seeded["clinician"])[0] == 303
    assert b.get(two, "/")[0] == 200, "the session from server 1 is not valid on server 2"
    cookie_before = dict(b.cookies)

    status, _h, _ = b.submit(one, "/", {}, action="/logout")
    assert status == 303

    b.cookies = cookie_before  # the signed cookie a stolen copy or a second tab would still hold
    status, headers, _ = b.get(two, "/")
    assert status == 302 and urlsplit(headers["Location"]).path == "/login", \
        "server 2 still accepts a session that was signed out on server 1"


def test_failed_sign_ins_on_both_servers_reach_one_shared_limit(servers, seeded, source_ip):
    one, two = servers
    b = Browser(source_ip)
    for attempt in range(ACCOUNT_LIMIT):  # half on each: neither server alone is at the limit
        status, _h, html = b.sign_in((one, two)[attempt % 2], seeded["limited"], "wrong password")
        assert status == 401, f"failed sign-in {attempt + 1} answered {status}"
    for port in (one, two):
        status, _h, html = b.sign_in(port, seeded["limited"])  # even the right password waits
        assert status == 429, (f"server on :{port} let a sign-in through after {ACCOUNT_LIMIT} "
                               "failures spread over two servers: the limit is not shared")
        assert "Too many attempts" in html
