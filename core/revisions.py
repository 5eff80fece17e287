"""Revision history: every changed field of a plan, goal, objective or intervention is kept."""
import datetime as dt

from core.db import insert_all, utcnow
from core.models import Revision


def _text(value):
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def record_changes(user, plan_id: int, entity: str, before, after: dict) -> int:
    """Write one revision per field of `after` that differs from `before`; returns the count."""
    now = utcnow()
    rows = []
    for name, new in after.items():
        old = getattr(before, name, None)
        if _text(old) != _text(new):
            rows.append({"plan": plan_id, "user": user.id if user else None, "at": now,
                         "entity": entity, "entity_id": before.id, "field": name,
                         "old_value": _text(old), "new_value": _text(new)})
    insert_all(Revision, rows)  # every save writes these: one cached INSERT text (core/db.py)
    return len(rows)


def record_event(user, plan_id: int, entity: str, entity_id: int, event: str, label: str = ""):
    """A change that is not a field edit: added, removed, restored, moved."""
    insert_all(Revision, [{"plan": plan_id, "user": user.id if user else None, "at": utcnow(),
                           "entity": entity, "entity_id": entity_id, "field": event,
                           "old_value": None, "new_value": label or None}])
