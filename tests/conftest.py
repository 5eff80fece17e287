"""Fixtures: an app on a fresh real database per test (SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set), signed-in clients, two practices to test isolation, and a live server
with headless Chromium for browser tests."""
import os
import re
import shutil
import threading
import types
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import settings as hypothesis_settings

from app import create_app
from core import accounts
from core.db import close_pool, db
from core.models import Client, Practice

PASSWORD = "correct horse battery staple"
TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-only-secret",
    # Cheap hashing keeps the suite fast; test_accounts checks the production default is scrypt.
    "PASSWORD_METHOD": "pbkdf2:sha256:1000",
    "SERVER_NAME": None,
}

# Property tests draw the same examples on every run, so a failure is reproducible and never a
# one-off in CI. HYPOTHESIS_PROFILE=explore draws afresh (for hunting new cases locally).
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# --- databases ------------------------------------------------------------------------------

_PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if _PG_URL else [])


def _pg_admin_connection(url):
    import psycopg2
    parts = urlsplit(url)
    conn = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def pg_url():
    """A scratch PostgreSQL database for this run, dropped at the end (runs never collide)."""
    if not _PG_URL:
        yield None
        return
    parts = urlsplit(_PG_URL)
    name = f"{parts.path.lstrip('/') or 'stepwise_test'}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    conn = _pg_admin_connection(_PG_URL)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def _reset_pg(url):
    import psycopg2
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    conn.close()


def pytest_collection_modifyitems(config, items):
    """A test marked postgresql_only runs once per run, on PostgreSQL: its SQLite variant is not
    collected at all (as a skip it would stand beside the passes as if it had been checked)."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("postgresql_only") and params.get("database_url") == "sqlite":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, pg_url):
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "stepwise-test.db")
    _reset_pg(pg_url)
    return pg_url


@pytest.fixture
def app(database_url, tmp_path):
    application = create_app({**TEST_CONFIG, "DATABASE_URL": database_url})
    application.instance_path = str(tmp_path / "instance")
    yield application
    close_pool()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@contextmanager
def in_db():
    """Direct model access in a test, on its own connection (closed afterwards)."""
    with db.connection_context():
        yield


# --- people ---------------------------------------------------------------------------------

def make_user(practice, email, role="clinician", name=None):
    return accounts.create_user(practice, email, name or email.split("@")[0].title(), PASSWORD, role)


@pytest.fixture
def world(app):
    """Two practices. A: admin_a, clin_a1, clin_a2; B: admin_b, clin_b. One client per clinician."""
    with in_db():
        pa = Practice.create(name="Practice A")
        pb = Practice.create(name="Practice B")
        w = types.SimpleNamespace(practice_a=pa.id, practice_b=pb.id)
        for key, practice, role in [("admin_a", pa, "admin"), ("clin_a1", pa, "clinician"),
                                    ("clin_a2", pa, "clinician"), ("admin_b", pb, "admin"),
                                    ("clin_b", pb, "clinician")]:
            setattr(w, key, make_user(practice, f"{key}@example.org", role))
        w.client_a1 = Client.create(practice=pa, first_name="Ada", last_name="Lovelace",
                                    presenting_problem="anxiety", primary_clinician=w.clin_a1)
        w.client_a2 = Client.create(practice=pa, first_name="Grace", last_name="Hopper",
                                    presenting_problem="depression", primary_clinician=w.clin_a2)
        w.client_b = Client.create(practice=pb, first_name="Alan", last_name="Turing",
                                   presenting_problem="alcohol use", primary_clinician=w.clin_b)
    return w


# --- HTTP clients ---------------------------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


class Browserless:
    """A Flask test client that signs in and sends the CSRF token like the real pages do."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self._token = None

    def __getattr__(self, name):
        return getattr(self.http, name)

    def csrf_token(self):
        if self._token is None:
            page = self.http.get("/login", follow_redirects=True).get_data(as_text=True)
            match = _TOKEN.search(page)
            assert match, "no CSRF token on the login page"
            self._token = match.group(1) or match.group(2)
        return self._token

    def login(self, email, password=PASSWORD):
        self._token = None
        response = self.submit("/login", {"email": email, "password": password}, action="/login")
        self._token = None  # the session is new after sign-in
        return response

    def send(self, url, data=None, htmx=False, method="POST", **kwargs):
        """An htmx write: the CSRF token rides in the header, as hx-headers on <body> sends it.
        Plain form posts go through submit() (the page's own form) or, for a request no page
        offers, forge()."""
        if not htmx:
            raise AssertionError(
                f"send({url!r}) without htmx=True would add a CSRF token the page may not carry: "
                "use submit(page_url, data, action=url) to post the page's form, or forge() for "
                "a hand-made request no page offers")
        headers = dict(kwargs.pop("headers", {}))
        headers.update({"HX-Request": "true", "X-CSRFToken": self.csrf_token()})
        return self.http.open(url, method=method, data=dict(data or {}), headers=headers, **kwargs)

    def submit(self, page_url, data=None, action=None, follow_redirects=False, page=None,
               **kwargs):
        """Post a plain (no-JavaScript) form the way a browser does: GET `page_url`, take its
        <form> (the one posting to `action` when the page has several), fill in `data`, and
        send exactly the fields that form holds: its own CSRF token or none at all. A key of
        `data` that is not a field (or a button) of the form fails the test. `page`: a response
        already on screen (a one-time form such as Undo is gone from a second GET)."""
        if page is None:
            page = self.http.get(page_url, **kwargs)
            assert page.status_code == 200, f"GET {page_url}: {page.status_code}"
        form = pick_form(parse_forms(page.get_data(as_text=True)), action, page_url)
        fields = form.values(data or {})
        target = form.action or page_url
        return self.http.open(target, method=form.method, data=fields,
                              content_type=form.enctype, follow_redirects=follow_redirects)

    def forge(self, url, data=None, **kwargs):
        """A hand-made POST no page offers (an attacker's request, a tampered id): `data` as
        given plus the sender's own session CSRF token, which any signed-in user can read."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.http.post(url, data=data, **kwargs)

    def hx_get(self, url, **kwargs):
        return self.http.get(url, headers={"HX-Request": "true"}, **kwargs)


class _Form:
    def __init__(self, action, method, enctype=None):
        self.action, self.method = action, method
        self.enctype = enctype if enctype == "multipart/form-data" else None  # else urlencoded
        self.fields = []          # (name, value) in page order, as a browser would send them
        self.names = set()        # every field and button name, sent or not
        self.buttons = {}         # name -> value of named submit buttons

    def values(self, data):
        unknown = set(data) - self.names
        assert not unknown, f"not fields of the form posting to {self.action}: {sorted(unknown)}"
        out, seen = [], set()
        for name, value in self.fields:
            if name in data:
                if name in seen:
                    continue
                seen.add(name)
                given = data[name]
                for item in given if isinstance(given, (list, tuple)) else [given]:
                    out.append((name, item))
            else:
                out.append((name, value))
        for name, value in data.items():  # checkboxes left unticked, buttons clicked
            if name not in seen and name not in {n for n, _ in self.fields}:
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    out.append((name, item))
        from werkzeug.datastructures import MultiDict
        return MultiDict(out)


def parse_forms(html: str) -> list:
    """The <form>s of a page with their fields, as a browser would submit them. A submit button
    with `formaction` (inside its form or tied to it by `form="id"`) counts as one more form
    posting there: the same fields plus that button's own name and value, as a click sends."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.forms, self.form, self.textarea, self.select, self.option = [], None, None, None, None
            self.by_id, self.clicks = {}, []

        def owner(self, a):
            return self.by_id.get(a["form"]) if a.get("form") else self.form

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form":
                self.form = _Form(a.get("action") or "", (a.get("method") or "get").upper(),
                                  (a.get("enctype") or "").lower())
                self.forms.append(self.form)
                if a.get("id"):
                    self.by_id[a["id"]] = self.form
                return
            if tag == "option" and self.select is not None:
                self.option = [a.get("value"), "selected" in a, ""]
                self.select[2].append(self.option)
                return
            form = self.owner(a)
            if form is None or "disabled" in a:  # a disabled field is neither sent nor filled
                return
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            if a.get("formaction") and tag in ("button", "input") and kind in ("submit", "image"):
                self.clicks.append((form, a))
            name = a.get("name")
            if not name:
                return
            if tag == "input":
                form.names.add(name)
                if kind in ("submit", "button", "image", "reset"):
                    form.buttons[name] = a.get("value", "")
                elif kind in ("checkbox", "radio"):
                    if "checked" in a:
                        form.fields.append((name, a.get("value", "on")))
                elif kind != "file":
                    form.fields.append((name, a.get("value", "")))
            elif tag == "button":
                form.names.add(name)
                form.buttons[name] = a.get("value", "")
            elif tag == "textarea":
                form.names.add(name)
                self.textarea = [form, name, ""]
            elif tag == "select":
                form.names.add(name)
                self.select = [form, name, []]

        def handle_data(self, data):
            if self.textarea is not None:
                self.textarea[2] += data
            elif self.option is not None:
                self.option[2] += data

        def handle_endtag(self, tag):
            if tag == "form":
                self.form = None
            elif tag == "textarea" and self.textarea is not None:
                form, name, text = self.textarea
                form.fields.append((name, text[1:] if text.startswith("\n") else text))
                self.textarea = None
            elif tag == "option":
                self.option = None
            elif tag == "select" and self.select is not None:
                form, name, options = self.select
                chosen = [o for o in options if o[1]] or options[:1]
                for value, _sel, text in chosen:
                    form.fields.append((name, value if value is not None else text.strip()))
                self.select = None

    parser = Parser()
    parser.feed(html)
    forms = parser.forms
    for form, a in parser.clicks:
        clicked = _Form(a["formaction"], (a.get("formmethod") or form.method).upper(), form.enctype)
        clicked.fields, clicked.names = list(form.fields), set(form.names)
        clicked.buttons = dict(form.buttons)
        if a.get("name"):
            clicked.fields.append((a["name"], a.get("value", "")))
        forms.append(clicked)
    return forms


def pick_form(forms, action, page_url):
    posting = [f for f in forms if f.method == "POST"]
    if action is not None:
        matching = [f for f in posting if urlsplit(f.action).path == urlsplit(action).path]
        assert matching, f"{page_url} has no form posting to {action}: {[f.action for f in posting]}"
        return matching[0]
    here = [f for f in posting if urlsplit(f.action or page_url).path == urlsplit(page_url).path]
    if len(here) == 1:
        return here[0]
    posting = [f for f in posting if urlsplit(f.action).path != "/logout"]  # the layout's own
    assert len(posting) == 1, (f"{page_url} has {len(posting)} POST forms "
                               f"({[f.action for f in posting]}): say which with action=")
    return posting[0]


@pytest.fixture
def client(app):
    return Browserless(app)


@pytest.fixture
def as_user(app):
    """as_user(user) -> a Browserless client signed in as that user."""
    def sign_in(user):
        c = Browserless(app)
        response = c.login(user.email)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return c
    return sign_in


# --- queries --------------------------------------------------------------------------------

@contextmanager
def count_queries():
    """Counts SQL statements sent to the database inside the block."""
    counter = types.SimpleNamespace(count=0, statements=[])
    target = db.obj
    original = target.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        counter.count += 1
        counter.statements.append(sql)
        return original(sql, params, *args, **kwargs)

    target.execute_sql = counting
    try:
        yield counter
    finally:
        del target.execute_sql


# --- browser --------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture
def live_server(app):
    """The app served by werkzeug on a free port in a background thread."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("STEPWISE_SKIP_BROWSER") == "1":
            pytest.skip("STEPWISE_SKIP_BROWSER=1: browser tests skipped on request")
        pytest.fail("Browser tests need Debian's Chromium at /usr/bin/chromium: "
                    "run `sudo apt-get install -y chromium` (or set STEPWISE_SKIP_BROWSER=1 "
                    "to skip them locally; CI never does).", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    """new_context() -> a fresh browser context (its own cookies); all closed afterwards."""
    contexts = []

    def new_context():
        context = chromium.new_context()
        context.set_default_timeout(10000)
        contexts.append(context)
        return context
    yield new_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser_context):
    return browser_context().new_page()


def browser_login(page, base_url, email, password=PASSWORD):
    page.goto(base_url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
