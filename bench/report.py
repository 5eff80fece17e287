"""bench/RESULTS.md and bench/results.json from one run's figures."""
import json
import os
import platform

from bench.scenarios import READS, SCENARIOS

FRAGMENTS = {"goal_edit_fragment": "goal edit form (GET /goals/<id>/edit)",
             "goal_save": "goal card after save (POST /goals/<id>)",
             "library_search": "library search results (GET /library?q=anx)"}
PAGES = ["dashboard", "client", "plan_5_goals", "plan_20_goals", "goal_edit_fragment",
         "goal_save", "library_search", "template_page", "session_note_new"]


def machine() -> str:
    meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    mem_gb = int(meminfo["MemTotal"].split()[0]) / 1024 / 1024
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (f"nproc {os.cpu_count()}, {mem_gb:.1f} GB memory, {model}; Python "
            f"{platform.python_version()}; load average at the end {load}")


def _ok(status) -> bool:
    return isinstance(status, int) and status < 400


def database_json(m: dict) -> dict:
    scenarios = {}
    for name in SCENARIOS:
        r = m["scenarios"].get(name, {})
        keys = ("rps", "ratio", "p50_ms", "p95_ms", "p99_ms", "errors", "bare_rps")
        scenarios[name] = {k: r.get(k) for k in keys}
        if r.get("error_kinds"):
            scenarios[name]["error_kinds"] = r["error_kinds"]
    inproc = m["inproc"]
    queries = {p: inproc["queries"][p] if _ok(inproc["status"][p]) else None for p in PAGES}
    fragments = {("goal_card_after_save" if k == "goal_save" else k):
                 inproc["bytes"][k] if _ok(inproc["status"][k]) else None for k in FRAGMENTS}
    return {"baseline_rps": m["baseline"]["rps"], "scenarios": scenarios, "queries": queries,
            "plan_page_cache": inproc.get("plan_cache"), "fragment_bytes": fragments,
            "plan_page_first_load_bytes": inproc["first_load"]["gzip"],
            "import_per_s": m["import"]["per_s"]}


def _cell(value, fmt="{}"):
    return "n/a" if value is None else fmt.format(value)


def _targets(name: str, m: dict, j: dict) -> list[str]:
    s = j["scenarios"]
    rows = []

    def row(target, value, met):
        verdict = "not measured" if met is None else ("met" if met else "**missed**")
        rows.append(f"| {target} | {value} | {verdict} |")

    def ratio_row(scenario, minimum):
        r = s[scenario]["ratio"]
        row(f"{scenario}: at least {minimum:.2f} of bare", _cell(r, "{:.3f}"),
            None if r is None else r >= minimum)

    ratio_row("plan_20_goals", 0.20)
    ratio_row("goal_edit_fragment", 0.35)
    ratio_row("library_search", 0.25)
    p95 = s["library_search"]["p95_ms"]
    row("library_search: p95 under 25 ms", _cell(p95, "{} ms"), None if p95 is None else p95 < 25)
    reads = [(s[k]["p99_ms"], k) for k in READS if s[k]["p99_ms"] is not None]
    if reads:
        worst = max(reads)
        over = ", ".join(f"{k} {v} ms" for v, k in reads if v >= 60)
        row("p99 under 60 ms for every read scenario",
            f"worst {worst[0]} ms ({worst[1]})" + (f"; over 60: {over}" if over else ""),
            worst[0] < 60)
    errors = s["mixed"]["errors"]
    row("mixed run: zero errors (no 5xx, no 'database is locked')",
        f"{_cell(errors)} errors, {m['locked_in_log']} 'database is locked' in the server log",
        None if errors is None else errors == 0 and m["locked_in_log"] == 0)
    q = {k: v for k, v in j["queries"].items() if v is not None}
    cache = j.get("plan_page_cache") or {}
    for kind in ("miss", "hit"):  # the plan page is counted on both of its paths
        for size in ("5", "20"):
            figure = cache.get(f"plan_{size}_goals_{kind}")
            if figure:
                q[f"plan_{size}_goals ({kind})"] = figure["queries"]
    same = all(q.get(f"plan_5_goals{k}") == q.get(f"plan_20_goals{k}")
               for k in ("", " (miss)", " (hit)"))
    row("queries per page: at most 10, equal for 5 and 20 goals",
        f"max {max(q.values())} ({max(q, key=q.get)}); plan 5 goals "
        f"{q.get('plan_5_goals (miss)')} rendered / {q.get('plan_5_goals (hit)')} cached, "
        f"20 goals {q.get('plan_20_goals (miss)')} / {q.get('plan_20_goals (hit)')}",
        max(q.values()) <= 10 and same)
    for k, v in j["fragment_bytes"].items():
        if k.startswith("goal"):  # the 4 KB bound is for goal fragments
            row(f"fragment {k}: at most 4 KB", _cell(v, "{} B"), None if v is None else v <= 4096)
    fl = j["plan_page_first_load_bytes"]
    row("plan page first load: at most 60 KB compressed", f"{fl / 1024:.1f} KB", fl <= 60 * 1024)
    imp = j["import_per_s"]
    row("import: at least 500 templates/s", _cell(imp, "{}/s") + f" ({m['import']['status']})",
        None if imp is None else imp >= 500)
    return rows


def _section(name: str, m: dict, j: dict) -> list[str]:
    out = [f"## {'SQLite' if name == 'sqlite' else 'PostgreSQL'}", "",
           f"Seeded in {m['seed_seconds']} s. Bare Flask baseline: **{j['baseline_rps']} rps** "
           f"(p50 {m['baseline']['p50_ms']} ms, p99 {m['baseline']['p99_ms']} ms), the median "
           f"of {m['baseline'].get('runs', 1)} bare runs between the scenarios, which ranged "
           f"{m['baseline'].get('min_rps', j['baseline_rps'])}–"
           f"{m['baseline'].get('max_rps', j['baseline_rps'])} rps. Each ratio is to the mean "
           "of the two bare runs either side of its scenario (`bare rps` below).", "",
           "| scenario | rps | bare rps | ratio to bare | p50 ms | p95 ms | p99 ms | errors |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario in SCENARIOS:
        r = m["scenarios"].get(scenario, {})
        if "not_available" in r:
            out.append(f"| {scenario} | not available (HTTP {r['not_available']}) | | | | | | |")
            continue
        out.append(f"| {scenario} | {r['rps']} | {r.get('bare_rps', '')} | {r['ratio']:.3f} | "
                   f"{r['p50_ms']} | "
                   f"{r['p95_ms']} | {r['p99_ms']} | {r['errors']} |")
    out += ["", "`plan_20_goals` opens the same 20-goal plan throughout, so after each worker's "
            "first request it is served from the plan page cache (the hit path below); in "
            "`mixed` the writes move plans on and their next views render again."]
    inproc = m["inproc"]
    out += ["", "Database queries per request (counting hook on `execute_sql`, second request of "
            "each, signed in):", "", "| page | queries | status | response bytes |",
            "|---|---:|---:|---:|"]
    for page in PAGES:
        out.append(f"| {page} | {inproc['queries'][page]} | {inproc['status'][page]} | "
                   f"{inproc['bytes'][page]} |")
    cache = inproc.get("plan_cache") or {}
    if cache:
        out += ["", "Plan page body cache (in-process, Flask test client, median of 31): "
                "a miss renders the body, as the first view after any change does; a hit "
                "reuses it.", "", "| page | path | queries | ms |", "|---|---|---:|---:|"]
        for key, figure in cache.items():
            page, kind = key.rsplit("_", 1)
            out.append(f"| {page} | {kind} | {figure['queries']} | {figure['ms']} |")
    out += ["", "htmx fragment bytes: " + ", ".join(
        f"{FRAGMENTS[k]} **{inproc['bytes'][k]} B**" for k in FRAGMENTS) + ".", ""]
    fl = inproc["first_load"]
    parts = ", ".join(f"`{url}` {n} B" for url, n in fl["parts"].items())
    out += [f"Plan page (20 goals) first load: **{fl['raw']} B raw, {fl['gzip']} B gzip-compressed**"
            f" ({parts}; gzip level 6 per response).", ""]
    imp = m["import"]
    out += [f"Import: {_cell(imp['per_s'], '**{} templates/s**')} — {imp['imported']} files in "
            f"{_cell(imp['seconds'], '{} s')}; {imp['status']}.", "",
            "### Targets", "", "| target | measured | |", "|---|---|---|"]
    out += _targets(name, m, j) + [""]
    return out


def write(folder, started, measured: dict, command: str, seconds, connections, threads, workers):
    any_run = next(iter(measured.values()))
    doc = {"date": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "server": any_run["server"],
           "databases": {name: database_json(m) for name, m in measured.items()}}
    (folder / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["# Benchmark results", "",
             f"- Date: {doc['date']}", f"- Machine: {machine()}",
             f"- Command: `{command}`",
             f"- Databases: {', '.join(measured)}",
             f"- Server: {doc['server']} (the README's production configuration); the app and "
             "the bare Flask baseline (`bench/bare.py`) are served the same way",
             f"- Load: wrk, {threads} threads, {connections} connections, {seconds} s per scenario, "
             "signed in as 4 clinicians of the practice (about 50 clients each); errors are "
             "responses 4xx/5xx plus socket errors", "",
             "Absolute numbers on a shared 2-core machine are noisy: read the ratios to the bare "
             "app measured in the same run. The load generator runs on the same machine.", ""]
    for name, m in measured.items():
        lines += _section(name, m, doc["databases"][name])
    (folder / "RESULTS.md").write_text("\n".join(lines) + _kept_sections(folder / "RESULTS.md"))


def _kept_sections(path) -> str:
    """Sections written by other benchmarks (bench/internals.py) outlive a `make bench` run."""
    old = path.read_text() if path.exists() else ""
    start = old.find("\n## Library internals")
    return "\n\n" + old[start:].lstrip("\n") if start >= 0 else ""
