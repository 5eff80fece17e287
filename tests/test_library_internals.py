"""The private library internals that Stepwise's speed tricks rely on, checked one by one.

Each trick stays only because `python -m bench.internals` showed it saves at least 10 % on a
scenario (figures in bench/RESULTS.md, measured with the versions below). When one of these
tests fails after an upgrade, the library changed underneath the trick: adapt the trick, or
drop it for the public API, and re-measure against the new version with bench.internals.
"""
import sqlite3

import peewee
import pytest

from core.db import db, insert_all, insert_each
from core.models import AuditEvent, User, UserSession
from tests.conftest import in_db

MEASURED = {"peewee": "4.5.3"}


def changed(library: str, version: str, what: str) -> str:
    return (f"{library} {version} (the trick was measured with {MEASURED[library]}): {what}. "
            f"Adapt the trick or replace it with the public API, then re-measure with "
            f"`.venv/bin/python -m bench.internals` (see bench/RESULTS.md).")


# --- peewee: core/prepared.py -------------------------------------------------------------------

def _peewee_changed(what):
    return changed("peewee", peewee.__version__, what)


def _session_query(token, user_id):
    return (UserSession.select(UserSession, User).join(User)
            .where((UserSession.token == token) & (UserSession.user == user_id)).limit(1))


def test_a_query_hydrates_a_cursor_of_its_own_sql_with_joins(world):
    """Prepared runs a query's compiled SQL itself and hands the cursor to peewee's private
    `_get_cursor_wrapper`, which must build models with the joined model attached."""
    from core import accounts
    with in_db():
        token = accounts.start_session(User.get_by_id(world.clin_a1.id))
        query = _session_query(token, world.clin_a1.id)
        assert callable(getattr(query, "_get_cursor_wrapper", None)), _peewee_changed(
            "ModelSelect._get_cursor_wrapper is gone")
        sql, params = query.sql()
        wrapper = query._get_cursor_wrapper(db.execute_sql(sql, params))
        rows = list(wrapper)
    assert len(rows) == 1 and isinstance(rows[0], UserSession), _peewee_changed(
        "_get_cursor_wrapper(cursor) no longer yields model instances")
    assert isinstance(rows[0].__dict__["__data__"], dict)
    assert rows[0].user.email == world.clin_a1.email, _peewee_changed(
        "the joined model is not attached by the cursor wrapper")


def test_a_cursor_wrappers_column_mapping_can_be_kept_between_runs(world):
    """Prepared keeps a wrapper's state except its per-run attributes (`_PER_RUN`) after the
    first row, and on later runs sets it back with `initialized = True`."""
    from core import accounts
    from core.prepared import _PER_RUN
    with in_db():
        token = accounts.start_session(User.get_by_id(world.clin_a1.id))
        query = _session_query(token, world.clin_a1.id)
        sql, params = query.sql()
        first = query._get_cursor_wrapper(db.execute_sql(sql, params))
        assert getattr(first, "initialized", None) is False, _peewee_changed(
            "a new cursor wrapper has no `initialized` flag set to False")
        first_rows = list(first)
        state = first.__dict__
        assert first.initialized is True, _peewee_changed(
            "`initialized` is not set once the first row was read")
        missing = _PER_RUN - set(state)
        assert not missing, _peewee_changed(f"cursor wrapper attributes {sorted(missing)} are gone")
        mapping = {k: v for k, v in state.items() if k not in _PER_RUN}
        assert mapping, _peewee_changed("the wrapper keeps no column mapping of its own")

        second = query._get_cursor_wrapper(db.execute_sql(sql, params))
        second.__dict__.update(mapping)
        second.initialized = True
        second_rows = list(second)
    assert [(r.id, r.user.id, r.user.email) for r in second_rows] == \
        [(r.id, r.user.id, r.user.email) for r in first_rows], _peewee_changed(
        "a wrapper given a kept column mapping hydrates differently")


def test_driver_errors_are_translated_by_peewees_exception_wrapper():
    """The PostgreSQL PREPARE runs on the raw connection inside `peewee.__exception_wrapper__`
    so that its errors arrive as peewee's, like those of execute_sql."""
    wrapper = getattr(peewee, "__exception_wrapper__", None)
    assert wrapper is not None, _peewee_changed("peewee.__exception_wrapper__ is gone")
    with pytest.raises(peewee.OperationalError):
        with wrapper:
            sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")


# --- peewee: core/db.py insert_each / insert_all ------------------------------------------------

def test_model_metadata_the_insert_text_is_built_from():
    meta = AuditEvent._meta
    for name in ("fields", "defaults", "table_name", "primary_key"):
        assert hasattr(meta, name), _peewee_changed(f"Metadata.{name} is gone")
    assert meta.fields["action"].column_name == "action"
    assert meta.primary_key.column_name == "id"
    assert all(isinstance(f, peewee.Field) for f in meta.defaults), _peewee_changed(
        "Metadata.defaults is no longer keyed by Field")
    assert meta.fields["at"] in meta.defaults and callable(meta.defaults[meta.fields["at"]])
    assert hasattr(db.obj, "param") and len(db.obj.quote) == 2, _peewee_changed(
        "Database.param / Database.quote are gone")


def test_inserted_rows_match_what_model_create_would_give(world):
    with in_db():
        user = User.get_by_id(world.clin_a1.id)
        event = insert_each(AuditEvent, [dict(action="test.internals", user=user,
                                              practice=user.practice_id, detail="x")])[0]
        assert hasattr(event, "_dirty"), _peewee_changed("Model._dirty is gone")
        assert not event.dirty_fields, _peewee_changed(
            "clearing Model._dirty no longer marks an inserted instance clean")
        stored = AuditEvent.get_by_id(event.id)
        assert (stored.action, stored.user_id, stored.detail, stored.at is not None) == \
            ("test.internals", user.id, "x", True)
        assert event.at == stored.at and event.ip == stored.ip  # defaults filled like create()
        insert_all(AuditEvent, [dict(action="test.batch", practice=user.practice_id,
                                     detail=str(n)) for n in range(3)])
        batch = list(AuditEvent.select().where(AuditEvent.action == "test.batch")
                     .order_by(AuditEvent.id))
    assert [e.detail for e in batch] == ["0", "1", "2"]
    assert all(e.at is not None and e.ip == "" and e.user_id is None for e in batch)
