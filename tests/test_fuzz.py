"""Every route, every parameter it reads, hostile values: never a 5xx, never a traceback.

The routes come from app.url_map, so a new route is fuzzed without touching this file: its path
parameters always, its form fields as found on the pages that post to it (forms and htmx
hx-post elements are harvested from every page), plus a small table of query parameters read by
code, and a generic set of fields for a route nothing is known about. Each request changes one
parameter of an otherwise valid request, so one field's validation error cannot hide another
field's crash. Deterministic: a fixed list of values, no randomness. Run with -s for the count
of requests and the statuses seen."""
import logging
import re
import time
import zipfile
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from core import accounts, library
from core import portal as portal_core
from core.models import Client, Homework, Intervention, Objective, User
from tests.conftest import Browserless, in_db
from tests.test_notes import make_plan, write_note
from tests.test_portal import invite, join

STARTER = Path(__file__).resolve().parent.parent / "template_library/generalized-anxiety-cbt.md"
# A whole valid template whose title holds a NUL through a YAML escape, not a raw byte.
NUL_TEMPLATE = STARTER.read_text().replace("title: ", 'title: "x\\0y" # ', 1)
# Each value is already percent-encoded: %FF%FE is invalid UTF-8 on purpose.
_RAW = ["\x00", "a\x00b", "\x01\x08\x1b\x7f", "²", "١٢", "٣", "2147483648", "2147483647",
        "9223372036854775808", "-1", "0", "1e9999", "1.5", " 7", "x" * 100_000, "",
        "9999-12-31", "0001-01-01", "2026-02-30", "10000-01-01", "999999 years",
        "<script>x</script>", "//evil.example/%2e%2e", "\u202e\ufeff", NUL_TEMPLATE]
HOSTILE = [quote(v, safe="") for v in _RAW] + ["%FF%FE", "%C0%80", "%ED%A0%80"]
# A smaller set for path parameters: anything but a real id ends in 404 there.
HOSTILE_PATH = [quote(v, safe="") for v in ["²", "١٢", "2147483648", "9223372036854775808",
                                            "0", "-1", "1e9999", "x" * 5000, "\x00", " "]] + [
    "%FF%FE", "%00"]
GENERIC_FIELDS = ("id", "version", "page", "q", "title", "text", "date", "status", "email")
GENERIC_QUERY = ("page", "version", "q")
# Query parameters read by the code (request.args) beyond what pages link to.
QUERY = {
    "admin.audit_log": {"page": "1", "action": "", "user": "{user}", "target": ""},
    "auth.login": {"next": "/"},
    "clients.client_list": {"status": "active", "q": ""},
    "library.library_index": {"q": "", "problem": "", "tag": "", "scope": "", "sort": "",
                              "page": "1"},
    "library.library_export": {"ids": "{template}", "all": ""},
    "library.template_detail": {"version": "1"},
    "library.template_export": {"version": "1"},
    "library.template_diff": {"a": "1", "b": "1"},
    "plans.goal_detail": {"cancel": "1"},
    "plans.plan_start": {"template": "{template}", "start_date": "2026-01-05", "version": "1",
                         "q": ""},
    "sessions.homework_new": {"goal": "{goal}", "objective": "{objective}", "text": "",
                              "suggestion": "1"},
    "sessions.note_new": {"format": "DAP"},
    "sessions.note_list": {"format": "DAP"},
}
# Form fields of forms no page shows before a step (the import preview's confirm form).
FORMS = {"library.import_confirm": {"name": "a.md", "source": STARTER.read_text(),
                                    "visibility": "private"}}
# Actions whose valid request changes what later requests can reach: fuzzed last.
LATE = ("remove", "discharge", "member_active", "sign", "revoke", "logout", "restore",
        "reactivate", "status", "visibility")


class _Forms(HTMLParser):
    """(method target, {field: value}) of every <form> and hx-post element of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.stack, self.select = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        target = a.get("hx-post") or (a.get("action") if tag == "form" else None)
        if tag == "form" or (target and a.get("hx-post")):
            fields = {}
            if tag == "form" and (a.get("method") or "get").lower() != "post" and not a.get("hx-post"):
                target = None
            self.found.append((target, fields))
            if tag == "form":
                self.stack.append(fields)
            return
        if not self.stack or not a.get("name"):
            if tag == "option" and self.select and self.stack:
                fields = self.stack[-1]
                if "selected" in a or self.select not in fields:
                    fields[self.select] = a.get("value") or ""
            return
        if tag == "input" and (a.get("type") or "").lower() in ("checkbox", "radio"):
            self.stack[-1].setdefault(a["name"], (a.get("value") or "on") if "checked" in a else "")
        elif tag in ("input", "textarea", "button"):
            self.stack[-1].setdefault(a["name"], a.get("value") or "")
        elif tag == "select":
            self.select = a["name"]

    def handle_endtag(self, tag):
        if tag == "form" and self.stack:
            self.stack.pop()


def _encode(pairs):
    return "&".join(f"{quote(k, safe='')}={v}" for k, v in pairs)


@pytest.fixture
def fuzz_world(app, world, as_user):
    """Real rows for every kind of path id, and a signed-in client for each role."""
    plan, (goal,) = make_plan(world.client_a1, ("Worry less",), measure="GAD-7",
                              target="GAD-7 below 10", timeframe="12 weeks")
    with in_db():
        objective = Objective.create(goal=goal, text="Name three worry triggers")
        intervention = Intervention.create(goal=goal, text="Worry time, daily")
        hw = Homework.create(client=world.client_a1.id, goal=goal, text="Keep a worry log")
        template = library.create_template(User.get_by_id(world.clin_a1.id), STARTER.read_text())
        tokens = {"auth.accept_invitation": accounts.invite(
                      User.get_by_id(world.admin_a.id), "new.colleague@example.org"),
                  "portal.accept_invitation": portal_core.invite_client(
                      User.get_by_id(world.clin_a2.id), Client.get_by_id(world.client_a2.id),
                      "grace@example.org")}
    clinician = as_user(world.clin_a1)
    note = write_note(clinician, world.client_a1, [goal])
    portal = join(app, invite(as_user, world.clin_a1, world.client_a1, "ada@example.org"))
    ids = {"client_id": world.client_a1.id, "plan_id": plan.id, "goal_id": goal.id,
           "homework_id": hw.id, "note_id": note, "template_id": template.id,
           "user_id": world.clin_a2.id, "user": world.clin_a1.id, "template": template.id,
           "goal": goal.id, "objective": objective.id, "filename": "stepwise.js"}
    items = {"objectives": objective.id, "interventions": intervention.id}
    return dict(ids=ids, items=items, tokens=tokens, clinician=clinician,
                admin=as_user(world.admin_a), portal=portal, anonymous=Browserless(app))


def _who(rule, fw):
    if rule.endpoint.startswith("portal."):
        return fw["portal"]
    if rule.endpoint.split(".")[0] in ("auth", "setup", "main") and rule.endpoint != "main.dashboard":
        return fw["anonymous"]
    if rule.rule.startswith("/admin"):
        return fw["admin"]
    return fw["clinician"]


def _path(rule, fw, override=None):
    """The rule's URL with real ids, one parameter optionally replaced by an encoded value."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = (sorted(converter.items)[0] if hasattr(converter, "items")
                        else fw["tokens"].get(rule.endpoint) if name == "token"
                        else fw["ids"].get(name, 1))
    if "item_id" in values:
        values["item_id"] = fw["items"][values["kind"]]
    url = rule.rule
    for name, value in values.items():
        text = override[1] if override and override[0] == name else quote(str(value), safe="")
        url = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?" + name + ">", lambda _m: text, url)
    return url


def _harvest(app, fw, rules):
    """Field names and a valid value for each POST endpoint, from the forms of every page."""
    adapter = app.url_map.bind("localhost")
    forms = {}
    pages = [(r, _path(r, fw)) for r in rules if "GET" in r.methods]
    pages += [(None, "/clients/{client_id}/plans/new?template={template}".format(**fw["ids"]))]
    for rule, url in pages:
        who = _who(rule, fw) if rule else fw["clinician"]
        for htmx in (False, True):
            response = who.get(url, headers={"HX-Request": "true"} if htmx else {})
            if response.status_code != 200 or "html" not in response.content_type:
                continue
            parser = _Forms()
            parser.feed(response.get_data(as_text=True))
            for target, fields in parser.found:
                if not target:
                    continue
                try:
                    endpoint, _args = adapter.match(urlsplit(target).path, method="POST")
                except HTTPException:
                    continue
                known = forms.setdefault(endpoint, {})
                for name, value in fields.items():
                    known.setdefault(name, value)
    return forms


def _fill(template, fw):
    return template.format(**fw["ids"]) if "{" in template else template


def _requests(rule, method, fw, forms):
    """(label, path, query, body) for each hostile request of this rule and method."""
    base_query = {k: _fill(v, fw) for k, v in QUERY.get(rule.endpoint, {}).items()}
    if not base_query and not forms.get(rule.endpoint) and method == "GET":
        base_query = {name: "1" for name in GENERIC_QUERY}
    fields = {k: v for k, v in (forms.get(rule.endpoint) or FORMS.get(rule.endpoint, {})).items()
              if k != "csrf_token"}
    if method == "POST" and not fields:
        fields = {name: "1" for name in GENERIC_FIELDS}
    encoded_query = [(k, quote(v, safe="")) for k, v in base_query.items()]
    encoded_form = [(k, quote(v, safe="")) for k, v in fields.items()] if method == "POST" else []
    url = _path(rule, fw)

    for name in rule.arguments:
        for value in HOSTILE_PATH:
            yield f"path {name}={value[:20]}", _path(rule, fw, (name, value)), \
                _encode(encoded_query), _encode(encoded_form)
    for bucket, pairs in (("query", encoded_query), ("form", encoded_form)):
        for i, (name, _valid) in enumerate(pairs):
            variants = [("missing", pairs[:i] + pairs[i + 1:]),
                        ("repeated", pairs + [(name, quote("2147483648"))])]
            variants += [(value[:24], pairs[:i] + [(name, value)] + pairs[i + 1:])
                         for value in HOSTILE]
            for what, changed in variants:
                query = changed if bucket == "query" else encoded_query
                body = changed if bucket == "form" else encoded_form
                yield f"{bucket} {name}: {what}", url, _encode(query), _encode(body)
    if not rule.arguments and not encoded_query and not encoded_form:
        yield "plain", url, "", ""


def _send(who, method, path, query, body, htmx, n, header=None):
    headers = {"HX-Request": "true"} if htmx else {}
    if header:
        headers["HX-Current-URL"] = header
    if method == "POST":
        headers["X-CSRFToken"] = who.csrf_token()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    # A distinct address per request keeps the per-address sign-in limit out of the way.
    return who.http.open(path, method=method, query_string=query, data=body, headers=headers,
                         environ_base={"REMOTE_ADDR": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"})


def _zip(entries):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


UPLOADS = [("a.md", b"\x00"), ("a.md", b"\xff\xfe---"), ("a.md", STARTER.read_bytes() + b"\x00\x01"),
           ("a\x00.md", b"x"), ("../../etc/passwd.md", b"x"), ("x" * 5000 + ".md", b"x"),
           ("\u202e.md", b"\x1b[31m"), ("a.zip", b"PK\x03\x04 not a zip"),
           ("a.zip", _zip([("../a.md", b"\x00"), ("b\x00.md", b"x"), ("c.md", b"\xff")])),
           ("a.zip", _zip([(f"{i}.md", b"x") for i in range(300)])), ("", b""),
           ("a.md", NUL_TEMPLATE.encode())]


class _Run:
    """Sends requests, counts them, and keeps every 5xx (or exception) with what caused it."""

    def __init__(self):
        self.count, self.failures, self.statuses = 0, [], {}

    def __call__(self, label, send):
        self.count += 1
        try:
            status = send(self.count).status_code
        except Exception as exc:  # TESTING re-raises: an exception is what a 500 would be
            status = f"{type(exc).__name__}: {str(exc)[:160]}"
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if not isinstance(status, int) or status >= 500:
            self.failures.append(f"{label} -> {status}")


def _fuzz_routes(app, fw, rules, run):
    forms = _harvest(app, fw, rules)
    jobs = sorted((any(word in r.endpoint for word in LATE), r.endpoint, method, r)
                  for r in rules for method in sorted(r.methods & {"GET", "POST"}))
    for _late, endpoint, method, rule in jobs:
        who = _who(rule, fw)
        for label, path, query, body in _requests(rule, method, fw, forms):
            run(f"{method} {endpoint} [{label}]",
                lambda n: _send(who, method, path, query, body, n % 2 == 0, n))


@pytest.fixture
def probe_route(app):
    """A route added after this file was written, reading a field with a bare int()."""
    from flask import request

    @app.route("/probe/<int:probe_id>", methods=["GET", "POST"])
    def probe(probe_id):
        return str(int(request.values.get("version") or 0) + probe_id)


def test_a_new_route_is_fuzzed_without_being_listed(app, probe_route, fuzz_world):
    """The fuzz can fail: the new route's crash is found through the generic fields, with
    nothing added to this file's tables."""
    run = _Run()
    _fuzz_routes(app, fuzz_world, [r for r in app.url_map.iter_rules() if r.endpoint == "probe"],
                 run)
    assert any("POST probe [form version: %C2%B2] -> ValueError" in f for f in run.failures)
    assert any("GET probe [query version: 1e9999] -> ValueError" in f for f in run.failures)


def test_no_input_gives_a_server_error(app, fuzz_world, caplog):
    fw, run = fuzz_world, _Run()
    caplog.set_level(logging.ERROR)
    started = time.monotonic()
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    _fuzz_routes(app, fw, rules, run)

    # File uploads: hostile names and contents, alone and inside a .zip.
    admin = fw["admin"]
    for name, content in UPLOADS:
        run(f"POST import [{name[:20]!r}: {content[:20]!r}]", lambda _n: admin.http.post(
            "/library/import", headers={"X-CSRFToken": admin.csrf_token()},
            data={"files": (BytesIO(content), name), "visibility": "private"},
            content_type="multipart/form-data"))

    # Without a sign-in, a malformed HX-Current-URL (read to send htmx to the sign-in page).
    anonymous = Browserless(app)
    for header in ("http://[", "http://[::1", "\x00", "x" * 10_000, "%FF", "http://a:99999999/"):
        for rule in rules:
            if "GET" in rule.methods:
                run(f"GET {rule.endpoint} [HX-Current-URL {header[:20]!r}]",
                    lambda n: _send(anonymous, "GET", _path(rule, fw), "", "", True, n, header))

    # Whatever the writes above stored, every page still shows.
    for rule in rules:
        if "GET" in rule.methods:
            for htmx in (False, True):
                run(f"GET {rule.endpoint} [after the writes]",
                    lambda n: _send(_who(rule, fw), "GET", _path(rule, fw), "", "", htmx, n))

    elapsed = time.monotonic() - started
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    print(f"\nfuzz: {run.count} requests in {elapsed:.1f}s, {len(run.failures)} server errors; "
          f"statuses {sorted(run.statuses.items(), key=str)}")
    assert not run.failures, (f"{len(run.failures)} of {run.count} requests failed:\n"
                              + "\n".join(run.failures[:80]))
    assert not logged, logged[:5]
    assert run.count > 10_000 and run.statuses.get(200, 0) > 1000, "the fuzz reached too little"
