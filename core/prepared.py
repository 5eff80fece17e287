"""Hot lookups compiled to SQL once, then run with each request's values.

Profiling the goal edit fragment showed peewee spending ~45% of the request building the SQL
text of two queries (the session's user, the scoped goal) whose shape never changes. A prepared
lookup builds its query once with stand-in values, remembers which parameter is which argument,
and afterwards only executes the SQL and hydrates rows with peewee's own cursor wrapper.

Only for equality parameters (ids, tokens): a stand-in must reach the SQL unchanged. On
PostgreSQL, single-record lookups are also prepared on the server (see the end of this file).

Hydrating rows uses peewee internals: a query's `_get_cursor_wrapper`, and the wrapper's column
mapping kept between runs (`__dict__`, `initialized`, `_PER_RUN`). Both measured worth it
(bench/internals.py, bench/RESULTS.md: the goal edit fragment takes half the time of peewee's
public execution, the kept mapping saves 12 % more); tests/test_library_internals.py fails
loudly when peewee changes them.
"""
import hashlib
import re
import weakref

import peewee

from core.db import db, is_sqlite

# A cursor wrapper's state that belongs to one run, not to the query's column mapping.
_PER_RUN = {"cursor", "count", "index", "initialized", "populated", "row_cache"}
_STR_STAND_IN = "\x01stand-in-%d\x01"
_INT_STAND_IN = -(10 ** 15)


def _stand_in(value, index):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError("prepared lookups take int and str arguments only")
    return _INT_STAND_IN - index if isinstance(value, int) else _STR_STAND_IN % index


class Prepared:
    """`Prepared(build)`; `.first(key, *args)` runs build(*args)'s query, compiled once per key
    and database dialect, and returns its first row (joined models attached) or None;
    `.all(key, *args)` returns every row, `.tuples(key, *args)` every row as plain tuples."""

    def __init__(self, build):
        self._build = build
        self._compiled = {}
        self._mappings = {}

    def _compile(self, key, args):
        stand_ins = [_stand_in(value, i) for i, value in enumerate(args)]
        query = self._build(*stand_ins)
        sql, params = query.sql()
        slots = []
        for param in params:
            slots.append(stand_ins.index(param) if param in stand_ins else None)
        for i, stand_in in enumerate(stand_ins):
            if i not in slots:
                raise ValueError(f"argument {i} did not reach the SQL unchanged")
        return query, sql, params, slots

    def _execute(self, key, args, plan_once=False):
        full_key = (type(db.obj).__name__, key, tuple(type(a) for a in args))
        compiled = self._compiled.get(full_key)
        if compiled is None:
            compiled = self._compiled[full_key] = self._compile(key, args)
        query, sql, params, slots = compiled
        values = [args[slot] if slot is not None else param for param, slot in zip(params, slots)]
        if plan_once and not is_sqlite():  # (sqlite3 keeps a statement cache of its own)
            return db.execute_sql(_server_prepared(sql, len(values)), values), query, full_key
        return db.execute_sql(sql, values), query, full_key

    def _rows(self, key, args, plan_once=False):
        cursor, query, full_key = self._execute(key, args, plan_once)
        wrapper = query._get_cursor_wrapper(cursor)  # peewee's own hydration, joins included
        # peewee maps the result columns to models and converters on each query's first row;
        # the SQL is fixed, so the mapping is too: keep it from the first run.
        known = self._mappings.get(full_key)
        if known is not None:
            wrapper.__dict__.update(known)
            wrapper.initialized = True
        return wrapper, full_key

    def _remember(self, wrapper, full_key):
        if wrapper.initialized and full_key not in self._mappings:
            self._mappings[full_key] = {k: v for k, v in wrapper.__dict__.items()
                                        if k not in _PER_RUN}

    def first(self, key, *args):
        """The first row. On PostgreSQL planned once per connection: these are lookups of one
        record by key, which a generic plan serves as well as a fresh one."""
        wrapper, full_key = self._rows(key, args, plan_once=True)
        row = next(iter(wrapper), None)
        self._remember(wrapper, full_key)
        return row

    def tuples(self, key, *args) -> list[tuple]:
        """Every row as the driver returns it, no models (nor field conversions)."""
        return self._execute(key, args)[0].fetchall()

    def all(self, key, *args) -> list:
        wrapper, full_key = self._rows(key, args)
        rows = list(wrapper)
        self._remember(wrapper, full_key)
        return rows


# --- PostgreSQL: plan once per connection ----------------------------------------------------
# PostgreSQL plans every statement it is sent; for the scoped lookups planning took ~0.55 ms
# and running ~0.1 ms. A server-side prepared statement is planned once per connection (the
# pool keeps connections), then each request only sends EXECUTE with its values.
# Only for first() (one record by key): lists such as the dashboard's or the library search
# ran slower on the generic plan PostgreSQL settles on for a prepared statement.
# Prepared statements live in a session: behind a transaction-pooling proxy (PgBouncer in
# transaction mode) they do not work; connect Stepwise to PostgreSQL directly.

_STATEMENT_NAMES: dict[str, str] = {}
_PREPARED_ON: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _server_prepared(sql: str, n_params: int) -> str:
    """The EXECUTE text for `sql`, PREPAREd on this connection first if it is not yet."""
    name = _STATEMENT_NAMES.get(sql)
    if name is None:
        name = _STATEMENT_NAMES[sql] = "stepwise_" + hashlib.sha1(sql.encode()).hexdigest()[:20]
    connection = db.connection()
    done = _PREPARED_ON.setdefault(connection, set())
    if name not in done:
        numbers = iter(range(1, n_params + 1))
        numbered = re.sub(r"%s", lambda _m: f"${next(numbers)}", sql)
        with peewee.__exception_wrapper__:  # driver errors as peewee's, like execute_sql
            connection.cursor().execute(f"PREPARE {name} AS {numbered}")
        done.add(name)
    return f"EXECUTE {name} ({', '.join(['%s'] * n_params)})" if n_params else f"EXECUTE {name}"
