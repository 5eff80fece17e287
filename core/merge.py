"""Saving an edit form against a record a colleague (or the client) may have changed meanwhile.

Every edit form carries the record's `version` and, per editable field, the value it showed when
it was opened (`base_fields` in templates/_forms.html renders them as `base-<field>` inputs).
A save then compares three versions of each field:

- the base (what the form showed), mine (what was posted), current (what is stored now);
- a field I did not change keeps the current value, whatever a colleague saved meanwhile;
- a field only I changed is written;
- a field both of us changed to different values is a clash: nothing is written and the form
  comes back with my input kept and the current version beside it (EditConflict).

So two people editing different fields of one record both keep their work without being asked,
and nobody ever overwrites a text they have not seen.
"""
import datetime as dt
from contextlib import contextmanager

BASE_PREFIX = "base-"


class EditConflict(Exception):
    """The record changed since the form was opened, and in a field this save changes too.
    `current` is the stored row now; `fields` the names that clash (mine and theirs differ
    from the base and from each other); `changed` every field that differs from the base."""

    def __init__(self, current, fields, changed=()):
        super().__init__("changed meanwhile: " + ", ".join(fields))
        self.current = current
        self.fields = list(fields)
        self.changed = list(changed) or list(fields)


def as_text(value) -> str:
    """One comparable text per value: forms post text, the database returns dates and None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(sorted(as_text(v) for v in value))
    if hasattr(value, "id") and not isinstance(value, (int, str)):  # a model row (foreign key)
        return str(value.id)
    return str(value).strip().replace("\r\n", "\n")


def base_from_form(form, fields) -> dict[str, str]:
    """The `base-<field>` values a form carried; a field the form did not carry is absent."""
    return {name: form.get(BASE_PREFIX + name) for name in fields
            if form.get(BASE_PREFIX + name) is not None}


def three_way(base: dict, mine: dict, current: dict) -> tuple[dict, list[str]]:
    """Merge my changes into the current values. Returns (the fields to write, the clashes).
    A field missing from `base` (an old form) counts as changed by me, so it clashes whenever
    current differs from mine: the safe side."""
    write, clashes = {}, []
    for name, value in mine.items():
        m, c = as_text(value), as_text(current.get(name))
        if m == c:
            continue
        b = base.get(name)
        b = None if b is None else as_text(b)
        if b is not None and m == b:
            continue  # I did not touch it: theirs stays
        if b is not None and c == b:
            write[name] = value  # only I changed it
        else:
            clashes.append(name)
    return write, clashes


def save_guarded(model, record_id: int, expected_version: int, mine: dict, base: dict,
                 *, also: dict | None = None, where=None, current_of=None, known=None):
    """Write `mine` to the row unless it clashes with a change saved after `expected_version`.

    `also` is written with any change (updated_at and the like). `where` narrows the row
    (e.g. not deleted). `current_of(row)` gives the row's field values to compare (default:
    the row's attributes named in `mine`). `known`: the row as the caller just read it (a
    scoped lookup), which saves reading it again; a save landing in between is caught by the
    conditional UPDATE and the row then read afresh. Returns (row before the write, fields
    written); with nothing to write, nothing is written (not even `also`) and the version
    stays. The UPDATE is conditional on the version read, so a save racing this one is caught
    too. Must run inside db.atomic()."""
    condition = model.id == record_id
    if where is not None:
        condition &= where
    for fresh in ((False, True) if known is not None else (True,)):
        current = model.select().where(condition).first() if fresh else known
        if current is None:
            from core.access import NotFound
            raise NotFound(f"{model.__name__} {record_id}")
        values = current_of(current) if current_of else {k: getattr(current, k) for k in mine}
        if current.version == expected_version:
            write = {k: v for k, v in mine.items() if as_text(v) != as_text(values.get(k))}
        else:
            write, clashes = three_way(base, mine, values)
            if clashes:
                changed = [k for k in mine if as_text(mine[k]) != as_text(base.get(k, mine[k]))
                           or as_text(values.get(k)) != as_text(base.get(k, values.get(k)))]
                raise EditConflict(current, clashes, changed)
        if not write:  # nothing to change: leave the version, so other open forms stay current
            return current, write
        columns = {k: v for k, v in write.items() if k in model._meta.fields}
        updated = (model.update(version=model.version + 1, **columns, **(also or {}))
                   .where(condition & (model.version == current.version)).execute())
        if updated:
            return current, write
    # Saved between our read and our write, inside our own transaction: refuse, safe side.
    raise EditConflict(model.get_by_id(record_id), list(mine))

def changed_detail(write: dict) -> str:
    """An audit detail for a merged save: the field names written, never their text."""
    return "changed " + ", ".join(sorted(write)) if write else "no change"


@contextmanager
def conflicts_audited(user, kind: str, record_id: int, values_of):
    """Around a guarded save: a refused one is audited as `<kind>.conflict` (field names only),
    and the exception gets `values` (values_of(current row)) for the conflict view."""
    from core import audit
    try:
        yield
    except EditConflict as exc:
        exc.values = values_of(exc.current)
        audit.record(f"{kind}.conflict", user, target_type=kind, target_id=record_id,
                     detail="both changed " + ", ".join(exc.fields))
        raise
