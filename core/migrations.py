"""Ordered schema migrations, recorded in the `schema_version` table.

Each step runs once, in order, inside a transaction. A step that alters an existing table must
check first (a fresh install creates tables from today's models, so the column may exist).
"""
from peewee import IntegerField

from core import models as m
from core.db import BaseModel, db, utcnow
from core.triggers import (backfill_goal_progress, install_goal_progress_triggers,
                           install_plan_change_triggers)
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


def _plan_changes():
    _create(m.PlanChange)()
    install_plan_change_triggers()


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
    (5, "plan change log for the plan page cache", _plan_changes),
    (6, "last progress per goal, for the dashboard", _goal_progress),
    (7, "version columns for edit forms", _edit_versions),
    (9, "one-time form tokens", _create(SubmitToken)),
]
LATEST = MIGRATIONS[-1][0]


def current_version() -> int:
    if not SchemaVersion.table_exists():
        return 0
    row = SchemaVersion.select(SchemaVersion.version).order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def upgrade(target: int | None = None) -> list[int]:
    """Bring the database up to `target` (default: the latest). Returns the steps applied."""
    target = LATEST if target is None else target
    db.create_tables([SchemaVersion], safe=True)
    applied = []
    for number, _name, step in MIGRATIONS:
        if number > target or number <= current_version():
            continue
        with db.atomic():
            step()
            SchemaVersion.create(version=number)
        applied.append(number)
    return applied
