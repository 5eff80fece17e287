"""In-process figures against the seeded database, with Flask's test client: database queries
per request (counted by wrapping the database's execute_sql), bytes of each htmx fragment, and
the plan page's first load (HTML + CSS + JS as served, raw and gzip-compressed)."""
import gzip
import re
import statistics
import time
import urllib.parse

from core.db import db

_CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_CSRF_HEADER = re.compile(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'')
_ASSETS = re.compile(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"|<script[^>]*src="([^"]+)"')
HX = {"HX-Request": "true"}


class QueryCounter:
    """Counts every statement peewee sends through the database's execute_sql."""

    def __init__(self, database):
        self.count = 0
        original = database.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            self.count += 1
            return original(sql, params, *args, **kwargs)

        database.execute_sql = counting


def sign_in(client, email: str, password: str) -> str:
    """Sign the test client in; returns the CSRF token the pages carry for htmx."""
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF_FIELD.search(page).group(1)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})
    if response.status_code != 303:
        raise RuntimeError(f"sign-in failed with {response.status_code}")
    return _CSRF_HEADER.search(client.get("/").get_data(as_text=True)).group(1)


def goal_form(goal, version: int, note: str = "") -> dict:
    return {"title": goal.title, "description": (goal.description or "") + note,
            "measure": goal.measure, "baseline": goal.baseline, "target": goal.target,
            "timeframe": goal.timeframe,
            "target_date": goal.target_date.isoformat() if goal.target_date else "",
            "version": str(version)}


def goal_form_body(goal) -> str:
    """The urlencoded save body for wrk, with {V} where the version goes."""
    body = urllib.parse.urlencode(goal_form(goal, 0, " Reviewed at check-in {V}."))
    return body.replace("%7BV%7D", "{V}").replace("version=0", "version={V}")


def first_load(client, path: str) -> tuple[int, int, dict]:
    """(raw bytes, gzip bytes, {url: raw bytes}) of a page and the CSS and JS it loads."""
    html = client.get(path).get_data()
    parts = {path: html}
    for css, js in _ASSETS.findall(html.decode()):
        url = css or js
        response = client.get(url)
        parts[url] = response.get_data()
        response.close()
    raw = sum(len(body) for body in parts.values())
    compressed = sum(len(gzip.compress(body, 6)) for body in parts.values())
    return raw, compressed, {url: len(body) for url, body in parts.items()}


def measure(app, email: str, password: str, paths: dict) -> dict:
    """Queries per request and bytes for each page of `paths` ({name: (method, path, hx)}).

    Each request runs twice and the second is counted, so one-off work (a first CSRF token,
    a session touch) does not blur the steady state."""
    from core.models import Goal
    counter = QueryCounter(db.obj)
    client = app.test_client()
    sign_in(client, email, password)
    token = _CSRF_HEADER.search(client.get("/").get_data(as_text=True)).group(1)
    out = {"queries": {}, "status": {}, "bytes": {}}
    for name, (method, path, hx) in paths.items():
        for _ in range(2):
            headers = dict(HX) if hx else {}
            data = None
            if method == "POST":
                goal_id = int(path.rstrip("/").split("/")[-1])
                with db.connection_context():
                    goal = Goal.get_by_id(goal_id)
                data = goal_form(goal, goal.version, " Reviewed.")
                headers["X-CSRFToken"] = token
            counter.count = 0
            response = client.open(path, method=method, headers=headers, data=data)
            body = response.get_data()
        out["status"][name] = response.status_code
        out["queries"][name] = counter.count
        out["bytes"][name] = len(body)
    raw, compressed, assets = first_load(client, paths["plan_20_goals"][1])
    out["first_load"] = {"raw": raw, "gzip": compressed, "parts": assets}
    out["plan_cache"] = plan_cache_figures(app, client, counter, paths)
    return out


def plan_cache_figures(app, client, counter, paths) -> dict:
    """The plan page's two paths (blueprints/plans/page_cache.py): a miss renders the body (the
    first view after any change), a hit reuses it. Queries and in-process median ms of each."""
    from blueprints.plans.page_cache import RenderedCache
    out = {}
    for name in ("plan_5_goals", "plan_20_goals"):
        path = paths[name][1]
        for kind in ("miss", "hit"):
            times = []
            for _ in range(31):
                if kind == "miss":
                    app.extensions["plan_page_cache"] = RenderedCache()
                counter.count = 0
                started = time.perf_counter()
                client.get(path).get_data()
                times.append(time.perf_counter() - started)
            out[f"{name}_{kind}"] = {"queries": counter.count,
                                     "ms": round(statistics.median(times) * 1000, 2)}
    return out
