"""Do the speed tricks that reach into a library's private internals pay for that risk?

    .venv/bin/python -m bench.internals          # SQLite; PostgreSQL too when DATABASE_URL names one

Each trick is switched on and off in one process, against one seeded database, with Flask's test
client; rounds interleave the variants (their order alternates per round), each round times a
batch of requests per variant, and the report gives the medians over rounds of each variant's
per-request median and of the ratio with/without. The machine is shared: only ratios from the
same run mean anything. A trick is worth its dependence on internals when it saves >= 10 % of
a scenario's time (ratio <= 0.90).

The tricks (the "with" variants live here, so the comparison can be rerun after a trick left the
code):
  limiter   Flask-Limiter's before_request hook (`limiter._check_request_limit`) taken out
  prepared  core/prepared.py hydrating compiled SQL with peewee's private cursor wrapper
            (`query._get_cursor_wrapper`), optionally reusing the wrapper's column mapping
            (`wrapper.__dict__`, `initialized`); against peewee's public query execution
  inserts   INSERT text built once per model from `model._meta` and run by hand
            (`instance._dirty`); against `Model.create` / `Model.insert_many(...).execute()`;
            "each by hand" keeps it for single rows (ids needed) and batches with insert_many

Environment: ROUNDS (default 9), BATCH (requests per variant and round, default 25).
"""
import datetime as dt
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

from peewee import chunked

ROUNDS = int(os.environ.get("ROUNDS", "9"))
BATCH = int(os.environ.get("BATCH", "25"))
IMPORT_FILES = 1000
CLI_SCENARIO = f"flask library import ({IMPORT_FILES} files, start-up included)"


# --- the variants ------------------------------------------------------------------------------

def limiter_variant(app, with_trick: bool):
    from blueprints.extensions import limiter
    hook = limiter._check_request_limit
    hooks = [h for h in app.before_request_funcs.get(None, []) if h != hook]
    app.before_request_funcs[None] = hooks if with_trick else [hook] + hooks


_PER_RUN = {"cursor", "count", "index", "initialized", "populated", "row_cache"}
_MAPPINGS: dict = {}


def _rows_mapped(self, key, args, plan_once):
    """Compiled SQL, peewee's private cursor wrapper, its column mapping kept from run 1."""
    cursor, query, full_key = self._execute(key, args, plan_once)
    wrapper = query._get_cursor_wrapper(cursor)
    known = _MAPPINGS.get((id(self), full_key))
    if known is not None:
        wrapper.__dict__.update(known)
        wrapper.initialized = True
    return wrapper, (id(self), full_key)


def _remember(wrapper, key):
    if wrapper.initialized and key not in _MAPPINGS:
        _MAPPINGS[key] = {k: v for k, v in wrapper.__dict__.items() if k not in _PER_RUN}


def _first_mapped(self, key, *args):
    wrapper, full_key = _rows_mapped(self, key, args, True)
    row = next(iter(wrapper), None)
    _remember(wrapper, full_key)
    return row


def _all_mapped(self, key, *args):
    wrapper, full_key = _rows_mapped(self, key, args, False)
    rows = list(wrapper)
    _remember(wrapper, full_key)
    return rows


def _first_wrapped(self, key, *args):
    cursor, query, _key = self._execute(key, args, True)
    return next(iter(query._get_cursor_wrapper(cursor)), None)


def _all_wrapped(self, key, *args):
    cursor, query, _key = self._execute(key, args, False)
    return list(query._get_cursor_wrapper(cursor))


def _first_public(self, key, *args):
    return self._build(*args).first()


def _all_public(self, key, *args):
    return list(self._build(*args))


PREPARED = {"mapped": (_first_mapped, _all_mapped), "wrapper": (_first_wrapped, _all_wrapped),
            "public": (_first_public, _all_public)}


def prepared_variant(name: str):
    from core.prepared import Prepared
    Prepared.first, Prepared.all = PREPARED[name]


_INSERTS: dict = {}


def _insert_sql(model, names, returning):
    from core.db import db
    key = (model, tuple(names), returning, db.param)
    if key not in _INSERTS:
        fields = [model._meta.fields[name] for name in names]
        fields += [f for f in model._meta.defaults if f.name not in names]
        q = db.quote[0] + "{}" + db.quote[1]
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            q.format(model._meta.table_name), ", ".join(q.format(f.column_name) for f in fields),
            ", ".join([db.param] * len(fields)))
        if returning:
            sql += " RETURNING " + q.format(model._meta.primary_key.column_name)
        _INSERTS[key] = sql, fields
    return _INSERTS[key]


def _full(model, fields, row):
    defaults = model._meta.defaults
    return {f.name: row[f.name] if f.name in row else
            (defaults[f]() if callable(defaults[f]) else defaults[f]) for f in fields}


def insert_each_by_hand(model, rows):
    from core.db import db, is_sqlite
    returning = not is_sqlite()
    out = []
    for row in rows:
        sql, fields = _insert_sql(model, list(row), returning)
        data = _full(model, fields, row)
        cursor = db.execute_sql(sql, [f.db_value(data[f.name]) for f in fields])
        instance = model(**data)
        setattr(instance, model._meta.primary_key.name,
                cursor.fetchone()[0] if returning else cursor.lastrowid)
        instance._dirty.clear()
        out.append(instance)
    return out


def insert_all_by_hand(model, rows):
    from core.db import db, is_sqlite
    if not rows:
        return
    sql, fields = _insert_sql(model, list(rows[0]), False)
    values = [[f.db_value(_full(model, fields, row)[f.name]) for f in fields] for row in rows]
    if is_sqlite():
        db.cursor().executemany(sql, values)
    else:
        from psycopg2.extras import execute_values
        execute_values(db.cursor(), sql[:sql.index(" VALUES (")] + " VALUES %s", values,
                       page_size=200)


def insert_each_public(model, rows):
    return [model.create(**row) for row in rows]


def insert_all_public(model, rows):
    for batch in chunked(rows, 100):
        model.insert_many(batch).execute()


INSERTS = {"with": (insert_each_by_hand, insert_all_by_hand),
           "each by hand": (insert_each_by_hand, insert_all_public),
           "without": (insert_each_public, insert_all_public)}


def inserts_variant(name):
    """Point every module that imported core.db's insert helpers at one variant."""
    if name is True or name is False:
        name = "with" if name else "without"
    each, every = INSERTS[name]
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(("core", "blueprints")):
            if hasattr(module, "insert_each"):
                module.insert_each = each
            if hasattr(module, "insert_all"):
                module.insert_all = every


# --- scenarios ---------------------------------------------------------------------------------

def per_request_ms(call, n=BATCH) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def get(client, path, hx=False):
    def call():
        response = client.get(path, headers={"HX-Request": "true"} if hx else {})
        response.get_data()
        assert response.status_code == 200, (path, response.status_code)
    return call


def goal_save(client, token, goal):
    """A goal saved with a changed description: the update, its revision rows, the card."""
    from bench.measure import goal_form
    state = {"version": goal.version, "n": 0}

    def call():
        state["n"] += 1
        response = client.post(f"/goals/{goal.id}", data=goal_form(
            goal, state["version"], f" Reviewed {state['n']}."),
            headers={"HX-Request": "true", "X-CSRFToken": token})
        response.get_data()
        assert response.status_code == 200, response.status_code
        state["version"] += 1
    return call


def session_lookup(app, client):
    """The signed-in user loaded from the session cookie, as every request does."""
    from core import accounts
    from core.db import db
    with client.session_transaction() as session:
        token, user_id = session["sid"], session["_user_id"]
    idle = app.config["SESSION_IDLE"]

    def call():
        with db.connection_context():
            assert accounts.load_session_user(token, user_id, idle) is not None
    return call


# --- the run -----------------------------------------------------------------------------------

def compare(label, variants: dict, scenarios: dict, results: dict, round_no: int, batch=BATCH,
            cli=None):
    """Time each scenario under each variant; the variant order alternates with the round.
    With `cli` (folder, owner), the scenario is the import command in a process of its own."""
    names = list(variants)
    if round_no % 2:
        names.reverse()
    for scenario, call in scenarios.items():
        for name in names:
            results.setdefault((label, scenario), {name: [] for name in variants})
            if cli:
                ms = import_command_ms(name, *cli)
            else:
                variants[name]()
                call()  # warm: compile, PREPARE, first mapping
                ms = per_request_ms(call, batch)
            results[(label, scenario)][name].append(ms)


def import_command_ms(variant: str, folder, owner) -> float:
    """Wall time of `flask library import` (start-up included) with or without the trick: a
    child process applies the variant, then runs the command through Flask's CLI runner."""
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "bench.internals", "import-child", variant,
                          str(folder), owner],
                         capture_output=True, text=True)
    took = (time.perf_counter() - started) * 1000
    if run.returncode != 0 or f"Imported {IMPORT_FILES} templates" not in run.stdout:
        raise SystemExit(f"import failed: {run.stdout[-500:]} {run.stderr[-2000:]}")
    return took


def import_child(variant: str, folder: str, owner: str):
    from app import create_app
    import core.audit, core.library, core.library_io, core.revisions  # noqa: F401 (patched below)
    app = create_app()
    inserts_variant(variant)
    result = app.test_cli_runner().invoke(args=["library", "import", folder, "--owner", owner])
    print(result.output, flush=True)


def run_database(kind: str, url: str) -> list[str]:
    from bench import seed as seeding
    from bench.importing import write_files
    from bench.measure import sign_in
    seeding.TEMPLATES = 1000  # the tricks do not touch the library's size; seeding time does
    info = seeding.seed(url)
    os.environ.update(DATABASE_URL=url, SECRET_KEY="bench-internals-not-secret",
                      AUTO_UPGRADE="0", SESSION_IDLE_MINUTES="600",
                      STEPWISE_INSTANCE=tempfile.mkdtemp(prefix="stepwise-internals-"))
    from app import create_app
    from core.db import db
    from core.models import Goal, Plan
    app = create_app()
    client = app.test_client()
    token = sign_in(client, info["clinicians"][1], info["password"])
    with db.connection_context():
        goal = Goal.select().join(Plan).where(Plan.client == 1).order_by(Goal.id).first()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="stepwise-internals-import-"))
    write_files(folder)
    plan = f"/plans/{info['big_plan']}"
    scenarios_a = {"healthz": get(client, "/healthz"),
                   "goal edit fragment": get(client, f"/goals/{goal.id}/edit", hx=True),
                   "plan view (cached)": get(client, plan)}
    scenarios_b = {"session lookup": session_lookup(app, client),
                   "goal edit fragment": get(client, f"/goals/{goal.id}/edit", hx=True),
                   "dashboard": get(client, "/")}
    scenarios_c = {"plan view (cached)": get(client, plan),
                   "goal save": goal_save(client, token, goal)}
    results: dict = {}
    for r in range(ROUNDS):
        print(f"  {kind}: round {r + 1}/{ROUNDS}", flush=True)
        prepared_variant("mapped")
        inserts_variant(True)
        compare("limiter", {"with": lambda: limiter_variant(app, True),
                            "without": lambda: limiter_variant(app, False)},
                scenarios_a, results, r)
        limiter_variant(app, False)  # the app as shipped: the hook stays (see RESULTS.md)
        compare("prepared", {name: (lambda n=name: prepared_variant(n)) for name in PREPARED},
                scenarios_b, results, r)
        prepared_variant("mapped")
        compare("inserts", {name: (lambda n=name: inserts_variant(n)) for name in INSERTS},
                scenarios_c, results, r)
        inserts_variant("with")
        compare("inserts", {name: None for name in INSERTS},
                {CLI_SCENARIO: None}, results, r, batch=1, cli=(folder, info["clinicians"][1]))
    return table(kind, results)


def table(kind, results) -> list[str]:
    lines = [f"### {kind}", "",
             "| trick | scenario | variant | median ms | ratio to the next variant | ratio q1–q3 |",
             "|---|---|---|---:|---:|---:|"]
    for (trick, scenario), by_variant in results.items():
        names = list(by_variant)
        for i, name in enumerate(names):
            times = by_variant[name]
            ratio = spread = ""
            if i + 1 < len(names):  # per round, then the median: both timed in that round
                ratios = [t / b for t, b in zip(times, by_variant[names[i + 1]])]
                ratio = f"{statistics.median(ratios):.3f}"
                if len(ratios) >= 4:
                    q = statistics.quantiles(ratios, n=4)
                    spread = f"{q[0]:.2f}–{q[2]:.2f}"
            unit = "s" if scenario.startswith("flask library import") else "ms"
            shown = statistics.median(times) / (1000 if unit == "s" else 1)
            lines.append(f"| {trick} | {scenario} | {name} | {shown:.3f}{' s' if unit == 's' else ''}"
                         f" | {ratio} | {spread} |")
    cli = results.get(("inserts", CLI_SCENARIO))
    if cli:
        for name in INSERTS:
            lines.append(f"| inserts | import rate | {name} | "
                         f"{IMPORT_FILES / (statistics.median(cli[name]) / 1000):.0f} templates/s | | |")
    return lines + [""]


def scratch_postgres(admin_url: str, create: bool) -> str:
    import psycopg2
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS stepwise_bench_internals WITH (FORCE)")
        if create:
            cur.execute("CREATE DATABASE stepwise_bench_internals")
    conn.close()
    parts = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(parts._replace(path="/stepwise_bench_internals"))


def main():
    import peewee
    import flask_limiter
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    out = [f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}; commit {commit}; "
           f"peewee {peewee.__version__}, Flask-Limiter {flask_limiter.__version__}, "
           f"Python {sys.version.split()[0]}; {ROUNDS} rounds, {BATCH} requests per variant "
           f"and round; load average {os.getloadavg()[0]:.2f} at the start", ""]
    kind = os.environ.get("BENCH_INTERNALS_DB", "sqlite")
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="stepwise-internals-db-")
        out += run_database("SQLite", f"sqlite:///{folder}/bench.db")
    else:
        url = scratch_postgres(os.environ["ADMIN_URL"], create=True)
        try:
            out += run_database("PostgreSQL", url)
        finally:
            from core.db import close_pool
            close_pool()
            scratch_postgres(os.environ["ADMIN_URL"], create=False)
    print("\n".join(out), flush=True)


def entry():
    """Each database in its own process (the app binds one database per process)."""
    if sys.argv[1:2] == ["import-child"]:
        return import_child(*sys.argv[2:5])
    if os.environ.get("BENCH_INTERNALS_DB"):
        return main()
    base = os.environ.get("DATABASE_URL", "")
    kinds = ["sqlite"] + (["postgresql"] if base.startswith(("postgres://", "postgresql://"))
                          else [])
    for kind in kinds:
        env = dict(os.environ, BENCH_INTERNALS_DB=kind, ADMIN_URL=base)
        env.pop("DATABASE_URL", None)
        subprocess.run([sys.executable, "-m", "bench.internals"], env=env, check=True)


if __name__ == "__main__":
    entry()
