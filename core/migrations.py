"""Ordered schema migrations, recorded in the `schema_version` table.

Each step runs once, in order, inside a transaction. A step that alters an existing table must
check first (a fresh install creates tables from today's models, so the column may exist).

Every worker of every app server calls upgrade() when it starts (AUTO_UPGRADE=1, the default),
often at the same moment on a fresh database. So the upgrade runs under one lock for the whole
database (a PostgreSQL advisory lock; on SQLite one BEGIN IMMEDIATE transaction around all the
steps), and what is applied is read again inside the lock: whoever comes second finds nothing
left to do. A database already upgraded is recognised without taking the lock.
"""
from contextlib import contextmanager

from peewee import IntegerField

from core import models as m
from core.db import BaseModel, db, is_sqlite, utcnow
from core.triggers import (backfill_goal_progress, backfill_plan_counter, drop_plan_change_log,
                           install_goal_progress_triggers, install_plan_counter_triggers)
from core.search import create_search_index
from core.submit_tokens import SubmitToken


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = m.DateTimeField(default=utcnow)


def _create(*tables):
    def step():
        db.create_tables(tables, safe=True)
    return step


def _library_index():
    _create(m.Template, m.TemplateVersion, m.TemplateTag)()
    create_search_index()


def _superseded():
    """Step 5 made the plan page's change log, which step 8 replaced; a database that has it
    keeps it until step 8 drops it, a newer one never gets it."""


def _goal_progress():
    _create(m.GoalProgress)()
    m.SessionNote._schema.create_indexes(safe=True)  # (client, created_at) on an older table
    backfill_goal_progress()
    install_goal_progress_triggers()


def _edit_versions():
    """A `version` per record with an edit form, for the three-way merge of core/merge.py.
    Plain SQL: the same on SQLite and PostgreSQL, and no table rebuild on SQLite."""
    for model in (m.User, m.Client, m.Homework, m.NoteTemplate, m.SessionNote):
        table = model._meta.table_name
        if "version" not in {column.name for column in db.get_columns(table)}:
            db.execute_sql(f'ALTER TABLE "{table}" '
                           "ADD COLUMN version INTEGER NOT NULL DEFAULT 1")


def _plan_counter():
    _create(m.PlanCounter)()
    backfill_plan_counter()
    drop_plan_change_log()
    install_plan_counter_triggers()


MIGRATIONS = [
    (1, "practices, accounts, clients, audit",
     _create(m.Practice, m.User, m.UserSession, m.Invitation, m.Client, m.CareTeamMember,
             m.AuditEvent)),
    (2, "template library with full-text index", _library_index),
    (3, "client action plans",
     _create(m.Plan, m.Goal, m.Objective, m.Intervention, m.HomeworkSuggestion, m.Revision,
             m.Agreement)),
    (4, "sessions, measures, homework, portal",
     _create(m.Homework, m.NoteTemplate, m.SessionNote, m.NoteAddendum, m.ProgressEntry,
             m.CustomMeasure, m.MeasureScore, m.PortalAccount, m.PortalInvitation,
             m.PortalSession)),
    (5, "plan change log for the plan page cache", _superseded),
    (6, "last progress per goal, for the dashboard", _goal_progress),
    (7, "version columns for edit forms", _edit_versions),
    (8, "per-plan change counter", _plan_counter),
    (9, "one-time form tokens", _create(SubmitToken)),
]
LATEST = MIGRATIONS[-1][0]


# pg_advisory_lock's key for the schema upgrade: any fixed number ("STEPWISE" in ASCII).
UPGRADE_LOCK_KEY = 0x5354455057495345


def current_version() -> int:
    if not SchemaVersion.table_exists():
        return 0
    row = SchemaVersion.select(SchemaVersion.version).order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def _applied() -> set[int]:
    if not SchemaVersion.table_exists():
        return set()
    return {version for (version,) in SchemaVersion.select(SchemaVersion.version).tuples()}


def _pending(target: int) -> list:
    done = _applied()
    return [item for item in MIGRATIONS if item[0] <= target and item[0] not in done]


@contextmanager
def _upgrade_lock():
    """Held by one process at a time, across the whole upgrade (see the module docstring)."""
    if is_sqlite():
        with db.atomic("IMMEDIATE"):  # the write lock, until every step is committed at once
            yield
        return
    db.execute_sql("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK_KEY,))
    try:
        yield
    finally:
        db.execute_sql("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK_KEY,))


def upgrade(target: int | None = None) -> list[int]:
    """Bring the database up to `target` (default: the latest). Returns the steps applied: none
    when another process did them first."""
    target = LATEST if target is None else target
    if not _pending(target):
        return []
    applied = []
    with _upgrade_lock():
        db.create_tables([SchemaVersion], safe=True)
        for number, _name, step in _pending(target):  # read again: now it cannot change
            with db.atomic():
                step()
                SchemaVersion.create(version=number)
            applied.append(number)
    return applied
