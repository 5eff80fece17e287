"""Goals and their objectives and interventions: validated edits with optimistic locking,
soft removal with undo, ordering, one-click status, and the SMART check."""
import re
from dataclasses import dataclass

from peewee import fn

from core import audit
from core.access import lookup
from core.db import db, utcnow
from core.inputs import InputError, parse_date
from core.models import (GOAL_STATUSES, OBJECTIVE_STATUSES, Client, Goal, Intervention, Objective,
                         Plan)
from core.merge import EditConflict, save_guarded
from core.plans import PlanError, attach_parts
from core.revisions import record_changes, record_event

GOAL_LIMITS = {"title": 300, "description": 5000, "measure": 200, "baseline": 200, "target": 200,
               "timeframe": 100}
# The fields each edit form carries, with their labels: the form, its base-<field> values and
# the conflict view are all built from these.
GOAL_FIELDS = [("title", "Goal"), ("description", "Specifically"), ("measure", "Measure"),
               ("baseline", "Baseline"), ("target", "Target"), ("timeframe", "Timeframe"),
               ("target_date", "Target date")]
ITEM_FIELDS = {"objectives": [("text", "Objective"), ("target_date", "By"), ("status", "Status")],
               "interventions": [("text", "Intervention")]}
ITEM_MODELS = {"objectives": Objective, "interventions": Intervention}
ITEM_NAMES = {"objectives": "objective", "interventions": "intervention"}
_VAGUE = re.compile(r"^(feel|be|get|do|improve|cope|work on|deal with)\b.{0,20}$"
                    r"|\b(better|happier|ok|okay|fine|good)\s*$", re.I)


# --- lookups ----------------------------------------------------------------------------------

def get_goal(user, goal_id: int, include_removed: bool = False) -> Goal:
    def build(record_id):
        query = (Goal.select(Goal, Plan, Client).join(Plan).join(Client)
                 .where((Goal.id == record_id) & Plan.deleted_at.is_null()))
        return query if include_removed else query.where(Goal.deleted_at.is_null())
    return lookup(f"goal:{include_removed}", build, user, "goal", goal_id)


def get_item(user, kind: str, item_id: int, include_removed: bool = False):
    model = ITEM_MODELS[kind]

    def build(record_id):
        query = (model.select(model, Goal, Plan, Client).join(Goal).join(Plan).join(Client)
                 .where((model.id == record_id) & Goal.deleted_at.is_null()
                        & Plan.deleted_at.is_null()))
        return query if include_removed else query.where(model.deleted_at.is_null())
    return lookup(f"{kind}:{include_removed}", build, user, ITEM_NAMES[kind], item_id)


def load_parts(goal: Goal) -> Goal:
    """Attach the goal's live objectives, interventions and homework suggestions for its card."""
    attach_parts([goal], [goal.id])
    return goal


# --- validation -------------------------------------------------------------------------------

def _date(value: str, errors: dict, key: str):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_date(value)
    except InputError as exc:
        errors[key] = str(exc)
        return None


def clean_goal_data(data: dict) -> dict:
    errors, out = {}, {}
    for key, limit in GOAL_LIMITS.items():
        out[key] = (data.get(key) or "").strip()
        if len(out[key]) > limit:
            errors[key] = f"At most {limit} characters."
    if not out["title"]:
        errors["title"] = "A goal needs a title."
    out["target_date"] = _date(data.get("target_date"), errors, "target_date")
    if errors:
        raise PlanError(errors)
    return out


def clean_item_data(kind: str, data: dict) -> dict:
    errors, out = {}, {"text": (data.get("text") or "").strip()}
    if not out["text"]:
        errors["text"] = f"Describe the {ITEM_NAMES[kind]}."
    elif len(out["text"]) > 2000:
        errors["text"] = "At most 2000 characters."
    if kind == "objectives":
        out["target_date"] = _date(data.get("target_date"), errors, "target_date")
        status = data.get("status") or "not started"
        if status not in OBJECTIVE_STATUSES:
            errors["status"] = "Unknown status."
        out["status"] = status
    if errors:
        raise PlanError(errors)
    return out


# --- goals ------------------------------------------------------------------------------------

def update_goal(user, goal: Goal, data: dict, expected_version: int,
                base: dict | None = None) -> Goal:
    """Save the edit form, merged with whatever a colleague saved since it was opened
    (core/merge.py); raises EditConflict when we both changed the same field."""
    clean, now = clean_goal_data(data), utcnow()
    with db.atomic():
        before, written = save_guarded(Goal, goal.id, expected_version, clean, base or {},
                                       also={"updated_at": now}, known=goal,
                                       where=Goal.deleted_at.is_null())
        record_changes(user, goal.plan_id, "goal", before, written)
        audit.record("goal.update", user, target_type="goal", target_id=goal.id)
    if before is not goal:  # read afresh inside the save: a colleague's fields are in it too
        return get_goal(user, goal.id)
    if written:  # the row we read, which the conditional UPDATE proved current, plus ours
        for name, value in written.items():
            setattr(goal, name, value)
        goal.version, goal.updated_at = goal.version + 1, now
    return goal


def add_goal(user, plan: Plan, data: dict) -> Goal:
    clean = clean_goal_data(data)
    with db.atomic():
        last = Goal.select(fn.MAX(Goal.position)).where(Goal.plan == plan.id).scalar()
        goal = Goal.create(plan=plan.id, position=(last if last is not None else -1) + 1, **clean)
        record_event(user, plan.id, "goal", goal.id, "added", goal.title)
        audit.record("goal.create", user, target_type="goal", target_id=goal.id)
    return get_goal(user, goal.id)


def set_goal_status(user, goal: Goal, status: str, base_status: str | None = None) -> Goal:
    """One click on a status button. `base_status` is the status the card showed: when a
    colleague set another one meanwhile, the click is refused (EditConflict) instead of
    silently replacing a status the clinician never saw. None (an old page): no check."""
    if status not in GOAL_STATUSES:
        raise PlanError({"status": "Unknown status."})
    if base_status is not None and goal.status not in (base_status, status):
        audit.record("goal.conflict", user, target_type="goal", target_id=goal.id,
                     detail="status")
        raise EditConflict(goal, ["status"])
    if status != goal.status:
        with db.atomic():
            updated = (Goal.update(status=status, version=Goal.version + 1, updated_at=utcnow())
                       .where((Goal.id == goal.id) & (Goal.status == goal.status)).execute())
            if not updated:  # a colleague's click landed between our read and our write
                raise EditConflict(Goal.get_by_id(goal.id), ["status"])
            record_changes(user, goal.plan_id, "goal", goal, {"status": status})
            audit.record("goal.status", user, target_type="goal", target_id=goal.id)
    return get_goal(user, goal.id)


def set_goal_removed(user, goal: Goal, removed: bool) -> Goal:
    with db.atomic():
        Goal.update(deleted_at=utcnow() if removed else None, version=Goal.version + 1).where(
            Goal.id == goal.id).execute()
        record_event(user, goal.plan_id, "goal", goal.id, "removed" if removed else "restored",
                     goal.title)
        audit.record("goal.remove" if removed else "goal.restore", user, target_type="goal",
                     target_id=goal.id)
    return get_goal(user, goal.id, include_removed=True)


def move_goal(user, goal: Goal, direction: str) -> Goal | None:
    """Swap the goal with its neighbour above or below (among live goals); returns that
    neighbour, or None when the goal is already at that end."""
    siblings = list(Goal.select().where((Goal.plan == goal.plan_id) & Goal.deleted_at.is_null())
                    .order_by(Goal.position, Goal.id))
    index = next(i for i, g in enumerate(siblings) if g.id == goal.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(siblings):
        return None
    neighbour = siblings[other]
    siblings[index], siblings[other] = siblings[other], siblings[index]
    with db.atomic():
        for position, row in enumerate(siblings):
            if row.position != position:
                Goal.update(position=position).where(Goal.id == row.id).execute()
        record_event(user, goal.plan_id, "goal", goal.id, "moved " + direction, goal.title)
    return neighbour


# --- objectives and interventions -------------------------------------------------------------

def add_item(user, goal: Goal, kind: str, data: dict):
    model = ITEM_MODELS[kind]
    clean = clean_item_data(kind, data)
    with db.atomic():
        last = model.select(fn.MAX(model.position)).where(model.goal == goal.id).scalar()
        item = model.create(goal=goal.id, position=(last if last is not None else -1) + 1, **clean)
        record_event(user, goal.plan_id, ITEM_NAMES[kind], item.id, "added", item.text[:200])
        audit.record(ITEM_NAMES[kind] + ".create", user, target_type=ITEM_NAMES[kind],
                     target_id=item.id)
    return get_item(user, kind, item.id)


def update_item(user, kind: str, item, data: dict, expected_version: int,
                base: dict | None = None):
    model = ITEM_MODELS[kind]
    clean = clean_item_data(kind, data)
    with db.atomic():
        before, written = save_guarded(model, item.id, expected_version, clean, base or {},
                                       known=item, where=model.deleted_at.is_null())
        record_changes(user, item.goal.plan_id, ITEM_NAMES[kind], before, written)
        audit.record(ITEM_NAMES[kind] + ".update", user, target_type=ITEM_NAMES[kind],
                     target_id=item.id)
    return get_item(user, kind, item.id)


def set_item_removed(user, kind: str, item, removed: bool):
    model = ITEM_MODELS[kind]
    with db.atomic():
        model.update(deleted_at=utcnow() if removed else None, version=model.version + 1).where(
            model.id == item.id).execute()
        record_event(user, item.goal.plan_id, ITEM_NAMES[kind], item.id,
                     "removed" if removed else "restored", item.text[:200])
        audit.record(ITEM_NAMES[kind] + (".remove" if removed else ".restore"), user,
                     target_type=ITEM_NAMES[kind], target_id=item.id)
    return get_item(user, kind, item.id, include_removed=True)


# --- the SMART check --------------------------------------------------------------------------

@dataclass(frozen=True)
class SmartHint:
    letter: str
    name: str
    hint: str


def smart_check(goal: Goal) -> list[SmartHint]:
    """Which SMART qualities look missing, with a one-line hint each. Pure: no queries."""
    hints = []
    title = (goal.title or "").strip()
    if len(title.split()) < 3 or (_VAGUE.search(title) and not goal.description):
        hints.append(SmartHint("S", "Specific", "Say what will be different, e.g. "
                               "'Return to driving on the highway alone'."))
    if not goal.measure or not goal.target:
        hints.append(SmartHint("M", "Measurable", "Add a measure (PHQ-9, GAD-7, a weekly count) "
                               "and a target such as 'PHQ-9 below 10'."))
    if not goal.baseline:
        hints.append(SmartHint("A", "Achievable", "Record a baseline so the target can be judged "
                               "realistic from where the client starts."))
    parts = getattr(goal, "parts", None)
    if parts is not None and not parts.get("objectives"):
        hints.append(SmartHint("R", "Relevant", "Add at least one objective that links this goal "
                               "to the work done in sessions."))
    if not goal.target_date:
        hints.append(SmartHint("T", "Time-bound", "Set a target date (or a timeframe such as "
                               "'12 weeks')."))
    return hints
