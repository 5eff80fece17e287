"""Database triggers that keep two derived records true whatever code path writes:

1. `plan_change`: a row appended whenever a row the plan page shows is written. The plan page
   caches its rendered body under the plan's newest `plan_change` id
   (blueprints/plans/page_cache.py). What the page shows, and how a row finds its plan:
   - goals, agreements and revisions carry `plan_id`;
   - objectives, interventions and homework ideas carry `goal_id`;
   - measure scores carry `client_id` (they decide "target met" / "n points to go" on every
     plan of the client).
   The plan, client and template rows are read with the plan on every request and go into the
   cache key directly, so they need no trigger. The triggers only INSERT, into a table without
   foreign keys: on PostgreSQL two sessions saving goals of the same plan never wait for each
   other on a shared row.

2. `goal_progress`: per goal, when the newest session note with a progress entry for it was
   written (also recomputed if a note's time is changed). The dashboard's "goals without
   progress" compares it with the client's notes instead of aggregating every progress entry
   of the caseload on each view.

Each `install_*` function drops and recreates its triggers, so running it again is safe.
"""
from core.db import db, is_sqlite

# table -> how its row reaches the plan ids it affects (SQL on the row's `{row}` alias).
PLAN_PAGE_TABLES = {
    "goal": "SELECT {row}.plan_id",
    "agreement": "SELECT {row}.plan_id",
    "revision": "SELECT {row}.plan_id WHERE {row}.plan_id IS NOT NULL",
    "objective": "SELECT plan_id FROM goal WHERE id = {row}.goal_id",
    "intervention": "SELECT plan_id FROM goal WHERE id = {row}.goal_id",
    "homework_suggestion": "SELECT plan_id FROM goal WHERE id = {row}.goal_id",
    "measure_score": "SELECT id FROM plan WHERE client_id = {row}.client_id",
}
ROW_OF = {"INSERT": "NEW", "UPDATE": "NEW", "DELETE": "OLD"}

_LAST_PROGRESS = ("(SELECT MAX(sn.created_at) FROM progress_entry pe JOIN session_note sn "
                  "ON sn.id = pe.note_id WHERE pe.goal_id = {row}.goal_id)")


def _run(statements) -> None:
    for statement in statements:
        db.execute_sql(statement)


def _sqlite_trigger(name: str, event: str, table: str, body: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END"]


def _postgres_trigger(name: str, table: str, body: str) -> list[str]:
    return [f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"]


def install_plan_change_triggers() -> None:
    out = []
    for table, plans in PLAN_PAGE_TABLES.items():
        insert = "INSERT INTO plan_change (plan_id) " + plans
        if is_sqlite():
            for event, row in ROW_OF.items():
                out += _sqlite_trigger(f"plan_change_{table}_{event.lower()}", event, table,
                                       insert.format(row=row) + ";")
        else:
            out += _postgres_trigger(
                f"plan_change_{table}", table,
                f"IF TG_OP = 'DELETE' THEN {insert.format(row='OLD')}; "
                f"ELSE {insert.format(row='NEW')}; END IF;")
    _run(out)


def install_goal_progress_triggers() -> None:
    if is_sqlite():
        # Writes are serialised on SQLite: recomputing the maximum is exact.
        def refresh(row):
            return (f"INSERT OR REPLACE INTO goal_progress (goal_id, last_at) "
                    f"SELECT {row}.goal_id, {_LAST_PROGRESS.format(row=row)};")
        out = []
        for event, body in (("INSERT", refresh("NEW")), ("UPDATE", refresh("OLD") + refresh("NEW")),
                            ("DELETE", refresh("OLD"))):
            out += _sqlite_trigger(f"goal_progress_{event.lower()}", event, "progress_entry", body)
        out += _sqlite_trigger("goal_progress_note_time", "UPDATE OF created_at", "session_note",
                               "INSERT OR REPLACE INTO goal_progress (goal_id, last_at) SELECT "
                               f"e.goal_id, {_LAST_PROGRESS.format(row='e')} FROM progress_entry e "
                               "WHERE e.note_id = NEW.id;")
        _run(out)
        return
    # PostgreSQL: a concurrent note's rows may not be visible yet, so a new entry only ever moves
    # the time forward (GREATEST); a removed one recomputes from what is there.
    upsert = ("INSERT INTO goal_progress (goal_id, last_at) VALUES ({row}.goal_id, "
              + _LAST_PROGRESS + ") ON CONFLICT (goal_id) DO UPDATE SET last_at = {merge};")
    body = ("IF TG_OP <> 'INSERT' THEN "
            + upsert.format(row="OLD", merge="EXCLUDED.last_at") + " END IF; "
            "IF TG_OP <> 'DELETE' THEN "
            + upsert.format(row="NEW", merge="GREATEST(goal_progress.last_at, EXCLUDED.last_at)")
            + " END IF;")
    _run(_postgres_trigger("goal_progress_refresh", "progress_entry", body))
    # A note's time moved (only ever by hand): recompute its goals.
    _run(_postgres_trigger(
        "goal_progress_note_time", "session_note",
        "IF TG_OP = 'UPDATE' AND NEW.created_at IS DISTINCT FROM OLD.created_at THEN "
        "INSERT INTO goal_progress (goal_id, last_at) SELECT e.goal_id, "
        + _LAST_PROGRESS.format(row="e") + " FROM progress_entry e WHERE e.note_id = NEW.id "
        "ON CONFLICT (goal_id) DO UPDATE SET last_at = EXCLUDED.last_at; END IF;"))


def backfill_goal_progress() -> None:
    db.execute_sql("DELETE FROM goal_progress")
    db.execute_sql("INSERT INTO goal_progress (goal_id, last_at) SELECT pe.goal_id, "
                   "MAX(sn.created_at) FROM progress_entry pe JOIN session_note sn "
                   "ON sn.id = pe.note_id GROUP BY pe.goal_id")


def prune_plan_changes() -> int:
    """Drop every plan_change row but each plan's newest (the only one a cache key reads).
    Safe while the app runs; `flask db upgrade` does it. Returns the rows dropped."""
    cursor = db.execute_sql("DELETE FROM plan_change WHERE id NOT IN "
                            "(SELECT MAX(id) FROM plan_change GROUP BY plan_id)")
    return cursor.rowcount
