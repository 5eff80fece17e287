"""Database triggers that keep two derived records true whatever code path writes:

1. `plan_counter`: per plan, a number `n` raised by one in the same transaction as every write
   to a row the plan page shows. The plan page caches its rendered body under it
   (blueprints/plans/page_cache.py explains why that key cannot miss a committed change). What
   the page shows, and how a row finds its plan:
   - goals, agreements and revisions carry `plan_id`;
   - objectives, interventions and homework ideas carry `goal_id`;
   - measure scores carry `client_id` (they decide "target met" / "n points to go" on every
     plan of the client).
   The plan, client and template rows are read with the counter on every request and go into
   the cache key directly, so they need no trigger.
   Raising a shared number makes writers of one plan take turns on its row. On PostgreSQL the
   triggers are deferred to COMMIT (constraint triggers), so that turn lasts only the commit:
   a transaction never holds the counter while it waits for a goal row a colleague holds (that
   would deadlock a reorder against a save), and the order of the numbers is the commit order.
   (Until step 8 this was an append-only `plan_change` log keyed by its
   newest id, which missed a change whose id was taken first but committed last.)

2. `goal_progress`: per goal, when the newest session note with a progress entry for it was
   written (also recomputed if a note's time is changed). The dashboard's "goals without
   progress" compares it with the client's notes instead of aggregating every progress entry
   of the caseload on each view.

Each `install_*` function drops and recreates its triggers, so running it again is safe.
"""
from core.db import db, is_sqlite

# table -> (the column that links its row to a plan, the ids of the plans it affects as SQL on
# the row's `{row}` alias, named plan_id).
PLAN_PAGE_TABLES = {
    "goal": ("plan_id", "SELECT {row}.plan_id AS plan_id"),
    "agreement": ("plan_id", "SELECT {row}.plan_id AS plan_id"),
    "revision": ("plan_id", "SELECT {row}.plan_id AS plan_id"),
    "objective": ("goal_id", "SELECT plan_id FROM goal WHERE id = {row}.goal_id"),
    "intervention": ("goal_id", "SELECT plan_id FROM goal WHERE id = {row}.goal_id"),
    "homework_suggestion": ("goal_id", "SELECT plan_id FROM goal WHERE id = {row}.goal_id"),
    "measure_score": ("client_id",
                      "SELECT id AS plan_id FROM plan WHERE client_id = {row}.client_id"),
}
ROW_OF = {"INSERT": "NEW", "UPDATE": "NEW", "DELETE": "OLD"}
# The outer WHERE also keeps SQLite from reading ON CONFLICT as a join's ON. Plans in id order:
# two commits raising the same plans take their rows in the same order.
_RAISE = ("INSERT INTO plan_counter (plan_id, n) SELECT plan_id, 1 FROM ({plans}) AS plans "
          "WHERE plan_id IS NOT NULL AND {when} ORDER BY plan_id "
          "ON CONFLICT (plan_id) DO UPDATE SET n = plan_counter.n + 1;")

_LAST_PROGRESS = ("(SELECT MAX(sn.created_at) FROM progress_entry pe JOIN session_note sn "
                  "ON sn.id = pe.note_id WHERE pe.goal_id = {row}.goal_id)")


def _run(statements) -> None:
    for statement in statements:
        db.execute_sql(statement)


def _sqlite_trigger(name: str, event: str, table: str, body: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END"]


def _postgres_trigger(name: str, table: str, body: str, at_commit: bool = False) -> list[str]:
    kind = "CONSTRAINT TRIGGER" if at_commit else "TRIGGER"
    when = "DEFERRABLE INITIALLY DEFERRED " if at_commit else ""
    return [f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE {kind} {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"{when}FOR EACH ROW EXECUTE FUNCTION {name}()"]


def _raise(table: str, row: str, when: str = "1 = 1") -> str:
    return _RAISE.format(plans=PLAN_PAGE_TABLES[table][1].format(row=row), when=when)


def install_plan_counter_triggers() -> None:
    out = []
    for table, (link, _plans) in PLAN_PAGE_TABLES.items():
        # A row moved to another plan (or goal) changes the page it left as well.
        if is_sqlite():
            for event, row in ROW_OF.items():
                body = _raise(table, row)
                if event == "UPDATE":
                    body += _raise(table, "OLD", f"OLD.{link} IS NOT NEW.{link}")
                out += _sqlite_trigger(f"plan_counter_{table}_{event.lower()}", event, table,
                                       body)
        else:
            out += _postgres_trigger(
                f"plan_counter_{table}", table,
                f"IF TG_OP = 'DELETE' THEN {_raise(table, 'OLD')} "
                f"ELSE {_raise(table, 'NEW')} END IF; IF TG_OP = 'UPDATE' THEN "
                f"{_raise(table, 'OLD', f'OLD.{link} IS DISTINCT FROM NEW.{link}')} END IF;",
                at_commit=True)
    _run(out)


def drop_plan_change_log() -> None:
    """Remove the plan_change log of steps 5-7 and its triggers (step 8 replaces them)."""
    out = []
    for table in PLAN_PAGE_TABLES:
        if is_sqlite():
            out += [f"DROP TRIGGER IF EXISTS plan_change_{table}_{event.lower()}"
                    for event in ROW_OF]
        else:
            out += [f"DROP TRIGGER IF EXISTS plan_change_{table} ON {table}",
                    f"DROP FUNCTION IF EXISTS plan_change_{table}()"]
    _run(out + ["DROP TABLE IF EXISTS plan_change"])


def backfill_plan_counter() -> None:
    """Start each plan's counter above every key the old log gave it (if there is a log)."""
    if "plan_change" in db.get_tables():
        db.execute_sql("INSERT INTO plan_counter (plan_id, n) SELECT plan_id, MAX(id) "
                       "FROM plan_change GROUP BY plan_id")


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
