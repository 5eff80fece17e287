"""Triggers that append to `plan_change` whenever a row the plan page shows is written.

The plan page caches its rendered body under the plan's newest `plan_change` id (see
blueprints/plans/page_cache.py). Triggers, not application code, write those rows, so an edit from
any code path (a route, a note's progress, the CLI, a restore script) moves the version on.

What the page shows, and how a row finds its plan:
- goals, agreements and revisions carry `plan_id`;
- objectives, interventions and homework ideas carry `goal_id`;
- measure scores carry `client_id` (they decide "target met" / "n points to go" on every plan of
  the client).
The plan, client and template rows themselves are read with the plan on every request and go
into the cache key directly, so they need no trigger.

The triggers only INSERT, into a table without foreign keys: on PostgreSQL two sessions saving
goals of the same plan never wait for each other on a shared row.
"""
from core.db import db, is_sqlite

# table -> how its row reaches the plan ids it affects (SQL on the row's `{row}` alias).
WATCHED = {
    "goal": "SELECT {row}.plan_id",
    "agreement": "SELECT {row}.plan_id",
    "revision": "SELECT {row}.plan_id WHERE {row}.plan_id IS NOT NULL",
    "objective": "SELECT plan_id FROM goal WHERE id = {row}.goal_id",
    "intervention": "SELECT plan_id FROM goal WHERE id = {row}.goal_id",
    "homework_suggestion": "SELECT plan_id FROM goal WHERE id = {row}.goal_id",
    "measure_score": "SELECT id FROM plan WHERE client_id = {row}.client_id",
}
EVENTS = {"INSERT": "NEW", "UPDATE": "NEW", "DELETE": "OLD"}


def _sqlite_statements() -> list[str]:
    out = []
    for table, plans in WATCHED.items():
        for event, row in EVENTS.items():
            name = f"plan_change_{table}_{event.lower()}"
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                       f"INSERT INTO plan_change (plan_id) {plans.format(row=row)}; END")
    return out


def _postgres_statements() -> list[str]:
    out = []
    for table, plans in WATCHED.items():
        function = f"plan_change_{table}"
        out.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'DELETE' THEN "
            f"INSERT INTO plan_change (plan_id) {plans.format(row='OLD')}; "
            f"ELSE INSERT INTO plan_change (plan_id) {plans.format(row='NEW')}; END IF; "
            f"RETURN NULL; END $$")
        out.append(f"DROP TRIGGER IF EXISTS {function} ON {table}")
        out.append(f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {function}()")
    return out


def install_triggers() -> None:
    """(Re)create every trigger; safe to run again."""
    for statement in _sqlite_statements() if is_sqlite() else _postgres_statements():
        db.execute_sql(statement)
