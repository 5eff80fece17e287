"""`make bench`: seed, serve with gunicorn, load with wrk, write bench/RESULTS.md and results.json.

Runs on a fresh SQLite file under bench/out/, and on PostgreSQL too when DATABASE_URL points at
one (in a scratch database `stepwise_bench` on that server, dropped afterwards).

Environment: BENCH_SECONDS (per scenario, default 10), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
BENCH_DATABASES ("sqlite,postgresql" to choose), DATABASE_URL.
"""
import datetime as dt
import json
import os
import pathlib
import shutil
import subprocess
import sys
import urllib.parse

from bench import report
from bench.server import Server, sign_in, fetch_status

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BIN = pathlib.Path(sys.executable).parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# The bare app runs before the first scenario and after each one, this long: each scenario's
# ratio is to the mean of the bare runs on either side of it, since the load of a shared
# machine drifts within one run (a single baseline taken first swung ratios by half).
BARE_SECONDS = int(os.environ.get("BENCH_BARE_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
WORKERS = 4
SIGNED_IN = [1, 2, 3, 4]  # clinicians the load signs in as (clinician 1 has the 20-goal plan)
WRK = shutil.which("wrk") or "/usr/bin/wrk"
LUA = ROOT / "bench" / "scenario.lua"


def wrk(url: str, prefix: pathlib.Path, seconds: int = SECONDS) -> dict:
    command = [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(LUA), url, "--", str(prefix)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(l for l in result.stdout.splitlines() if l.startswith("BENCH_JSON "))
    raw = json.loads(line[len("BENCH_JSON "):])
    errors = (raw["status_errors"] + raw["connect_errors"] + raw["read_errors"]
              + raw["write_errors"] + raw["timeouts"])
    return {"rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
            "p50_ms": round(raw["p50_us"] / 1000, 2), "p95_ms": round(raw["p95_us"] / 1000, 2),
            "p99_ms": round(raw["p99_us"] / 1000, 2), "errors": errors, "raw": raw,
            # Which kind of error, so a non-zero count can be told apart: a 4xx/5xx answer
            # (status) or a socket problem (gunicorn's sync workers close every connection).
            "error_kinds": {k: raw[k] for k in ("status_errors", "connect_errors", "read_errors",
                                                "write_errors", "timeouts") if raw[k]}}


def write_lines(prefix: pathlib.Path, sessions: dict, per_thread: list[list[tuple]]):
    for t, lines in enumerate(per_thread, 1):
        with open(f"{prefix}.{t}", "w") as fh:
            for key, (cookie, csrf) in sessions.items():
                fh.write(f"S\t{key}\t{cookie}\t{csrf}\n")
            for line in lines:
                fh.write("\t".join(line) + "\n")


def postgres_urls(url: str) -> tuple[str, str]:
    """(maintenance URL as given, URL of the scratch database stepwise_bench)."""
    parts = urllib.parse.urlsplit(url)
    return url, urllib.parse.urlunsplit(parts._replace(path="/stepwise_bench"))


def scratch_postgres(admin_url: str, create: bool):
    import psycopg2
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS stepwise_bench WITH (FORCE)")
        if create:
            cur.execute("CREATE DATABASE stepwise_bench")
    conn.close()


def app_env(name: str, url: str) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, SECRET_KEY="bench-" + name + "-not-secret",
               STEPWISE_INSTANCE=str(OUT / name / "instance"), AUTO_UPGRADE="0",
               LOGIN_LIMIT_PER_ACCOUNT="1000 per minute", LOGIN_LIMIT_PER_ADDRESS="1000 per minute",
               SESSION_IDLE_MINUTES="600")
    return env


def run_database(name: str, url: str) -> dict:
    from bench import measure, scenarios, seed as seeding
    from bench.importing import import_throughput

    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "instance").mkdir(parents=True)
    print(f"== {name}: seeding", flush=True)
    info = seeding.seed(url)
    env = app_env(name, url)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "STEPWISE_INSTANCE",
                                           "AUTO_UPGRADE", "LOGIN_LIMIT_PER_ACCOUNT",
                                           "LOGIN_LIMIT_PER_ADDRESS", "SESSION_IDLE_MINUTES")})
    caseloads = scenarios.Caseloads(SIGNED_IN, info["big_plan"], info["five_plan"])
    email = info["clinicians"][SIGNED_IN[0]]

    print(f"== {name}: queries and bytes per page (in-process)", flush=True)
    from app import create_app
    goal = caseloads.first_goal()
    paths = {"dashboard": ("GET", "/", False),
             "client": ("GET", f"/clients/{caseloads.clients['1'][0]}", False),
             "plan_5_goals": ("GET", f"/plans/{info['five_plan']}", False),
             "plan_20_goals": ("GET", f"/plans/{info['big_plan']}", False),
             "goal_edit_fragment": ("GET", f"/goals/{goal.id}/edit", True),
             "goal_save": ("POST", f"/goals/{goal.id}", True),
             "library_search": ("GET", "/library?q=anx", True),
             "template_page": ("GET", f"/library/{caseloads.templates[0]}", False),
             "session_note_new": ("GET", f"/clients/{caseloads.clients['1'][0]}/notes/new", False)}
    inproc = measure.measure(create_app(), email, info["password"], paths)

    servers, results, bare_runs = {}, {}, []
    log = folder / "gunicorn.log"
    with Server(BIN / "gunicorn", "bench.bare:app", WORKERS, env, folder / "bare.log", "/") as bare, \
            Server(BIN / "gunicorn", "app:create_app()", WORKERS, env, log, "/healthz") as server:
        servers["bare"] = bare.version

        def bare_run() -> dict:
            run = wrk(bare.url, _bare_lines(folder), BARE_SECONDS)
            bare_runs.append(run)
            return run
        print(f"== {name}: bare Flask baseline, then each scenario between two bare runs",
              flush=True)
        before = bare_run()
        print(f"   bare: {before['rps']} rps, p99 {before['p99_ms']} ms", flush=True)
        sessions = {str(k): sign_in(server.url, info["clinicians"][uid], info["password"])
                    for k, uid in enumerate(SIGNED_IN, 1)}
        available = []
        for scenario in scenarios.SCENARIOS:
            per_thread = None
            if scenario in scenarios.READS:
                per_thread = scenarios.thread_lines(caseloads, scenario, [], THREADS)
                _key, session, hx, path = per_thread[0][0]
                status = fetch_status(server.url + path, sessions[session][0], hx == "1")
                if status == 404:
                    results[scenario] = {"not_available": status}
                    print(f"   {scenario}: not available ({status})", flush=True)
                    continue
                available.append(scenario)
            if per_thread is None:
                per_thread = scenarios.thread_lines(caseloads, scenario, available, THREADS)
            prefix = folder / f"wrk-{scenario}"
            write_lines(prefix, sessions, per_thread)
            result = wrk(server.url, prefix)
            after = bare_run()
            result["bare_rps"] = round((before["rps"] + after["rps"]) / 2, 1)
            result["ratio"] = round(result["rps"] / result["bare_rps"], 3)
            results[scenario] = result
            print(f"   {scenario}: {result['rps']} rps ({result['ratio']} of bare at "
                  f"{result['bare_rps']} rps), p50 {result['p50_ms']} p95 {result['p95_ms']} "
                  f"p99 {result['p99_ms']} ms, {result['errors']} errors", flush=True)
            before = after
    # The run's baseline: the bare run of median throughput (each ratio uses its neighbours).
    baseline = sorted(bare_runs, key=lambda r: r["rps"])[len(bare_runs) // 2]
    baseline = {**baseline, "runs": len(bare_runs), "min_rps": min(r["rps"] for r in bare_runs),
                "max_rps": max(r["rps"] for r in bare_runs)}
    locked = log.read_text(errors="replace").count("database is locked")

    print(f"== {name}: import throughput", flush=True)
    imported = import_throughput(BIN / "flask", env, OUT / "import", folder)
    print(f"   import: {imported}", flush=True)
    return {"seed_seconds": info["seconds"], "baseline": baseline, "scenarios": results,
            "inproc": inproc, "import": imported, "locked_in_log": locked,
            "server": servers["bare"]}


def _bare_lines(folder: pathlib.Path) -> pathlib.Path:
    prefix = folder / "wrk-bare"
    write_lines(prefix, {"1": ("x=1", "")}, [[("G", "1", "0", "/")]] * THREADS)
    return prefix


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    if not os.path.exists(WRK):
        sys.exit("wrk is missing: apt-get install wrk (make bench installs it)")
    wanted = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    base_url = os.environ.get("DATABASE_URL", "")
    runs = []
    if "sqlite" in wanted:
        runs.append(("sqlite", "sqlite:///" + str(OUT / "sqlite" / "stepwise.db"), None))
    if "postgresql" in wanted and base_url.startswith(("postgres://", "postgresql://")):
        admin, bench_url = postgres_urls(base_url)
        runs.append(("postgresql", bench_url, admin))
    started = dt.datetime.now(dt.timezone.utc)
    measured = {}
    for name, url, admin in runs:
        if admin:
            scratch_postgres(admin, create=True)
        try:
            measured[name] = run_database(name, url)
        finally:
            if admin:
                from core.db import db
                if not db.is_closed():
                    db.close()
                scratch_postgres(admin, create=False)
    command = "make bench"
    if any(admin for _n, _u, admin in runs):
        command = f"DATABASE_URL={base_url} " + command
    if "BENCH_SECONDS" in os.environ:
        command = f"BENCH_SECONDS={SECONDS} " + command
    report.write(ROOT / "bench", started, measured, command, SECONDS, CONNECTIONS, THREADS, WORKERS)
    print(f"wrote bench/RESULTS.md and bench/results.json in "
          f"{(dt.datetime.now(dt.timezone.utc) - started).total_seconds():.0f} s", flush=True)


if __name__ == "__main__":
    main()
