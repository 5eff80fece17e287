"""Homework: assigning it from the plan, the client's status and feedback, and what the
clinician should look at next (new feedback, overdue homework, plans due for review)."""
import datetime as dt

from peewee import JOIN

from core import audit
from core.access import rows_in_scope, scoped
from core.db import db, utcnow
from core.merge import changed_detail, conflicts_audited, save_guarded
from core.inputs import InputError, parse_date, parse_id
from core.prepared import Prepared
from core.models import (HOMEWORK_STATUSES, Client, Goal, Homework, HomeworkSuggestion, Objective,
                         Plan)
from core.revisions import record_changes, record_event

MAX_TEXT = 2_000
MAX_FEEDBACK = 4_000
CLIENT_STATUSES = ("done", "skipped")
# What each side's form carries and merges. Neither side ever writes the other's columns: the
# clinician's save never touches completed_at or the feedback, the client's never the task.
CLINICIAN_FIELDS = ("text", "due_date", "goal", "objective", "status")
CLIENT_FIELDS = ("status", "feedback")


class HomeworkRemoved(LookupError):
    """The clinician removed the homework while the client had it open."""


class HomeworkError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _live(query):
    return query.where(Homework.deleted_at.is_null())


def get_homework(user, homework_id: int, include_deleted: bool = False) -> Homework:
    """Homework of a client in `user`'s scope (client attached), else NotFound (audited)."""
    query = Homework.select(Homework, Client).join(Client).where(Homework.id == homework_id)
    if not include_deleted:
        query = _live(query)
    return scoped(query, user, "homework", homework_id)


def homework_since(client_id: int, since: dt.datetime | None) -> list[Homework]:
    """Homework still open, feedback not yet seen, or homework assigned, done or commented on
    since `since` (all when None), with its goal attached. One query."""
    query = _live(Homework.select(Homework, Goal).join(Goal, JOIN.LEFT_OUTER)
                  .where(Homework.client == client_id))
    if since is not None:
        unseen = Homework.feedback_at.is_null(False) & (Homework.feedback_seen == False)  # noqa: E712
        query = query.where((Homework.status == "assigned") | unseen | (Homework.created_at > since)
                            | (Homework.completed_at > since) | (Homework.feedback_at > since))
    return list(query.order_by(Homework.created_at, Homework.id))


def homework_of(client_id: int, limit: int = 50) -> list[Homework]:
    """The client's latest homework, with what the client page lists of each."""
    return _HOMEWORK_ROWS.all("homework of", client_id, limit)


_HOMEWORK_ROWS = Prepared(lambda client_id, limit: _live(
    Homework.select(Homework.id, Homework.client, Homework.goal, Homework.text,
                    Homework.due_date, Homework.status, Homework.feedback,
                    Homework.feedback_seen, Homework.created_at, Goal.id, Goal.title)
    .join(Goal, JOIN.LEFT_OUTER).where(Homework.client == client_id))
    .order_by(Homework.created_at.desc(), Homework.id.desc()).limit(limit))


def mark_feedback_seen(homework_ids) -> int:
    ids = [i for i in homework_ids]
    if not ids:
        return 0
    return (Homework.update(feedback_seen=True)
            .where(Homework.id.in_(ids) & Homework.feedback_at.is_null(False)
                   & (Homework.feedback_seen == False)).execute())  # noqa: E712


# --- choosing what to assign --------------------------------------------------------------------

def plan_choices(client_id: int):
    """The active plans' live goals, their objectives and homework suggestions, for the
    homework form: (goals, objectives by goal id, suggestions by goal id). Three queries."""
    goals = list(Goal.select(Goal, Plan).join(Plan)
                 .where((Plan.client == client_id) & (Plan.status == "active")
                        & Plan.deleted_at.is_null() & Goal.deleted_at.is_null())
                 .order_by(Plan.id, Goal.position, Goal.id))
    ids = [g.id for g in goals]
    objectives, suggestions = {}, {}
    if ids:
        for row in (Objective.select().where(Objective.goal.in_(ids) & Objective.deleted_at.is_null())
                    .order_by(Objective.position, Objective.id)):
            objectives.setdefault(row.goal_id, []).append(row)
        for row in (HomeworkSuggestion.select()
                    .where(HomeworkSuggestion.goal.in_(ids) & HomeworkSuggestion.deleted_at.is_null())
                    .order_by(HomeworkSuggestion.position, HomeworkSuggestion.id)):
            suggestions.setdefault(row.goal_id, []).append(row)
    return goals, objectives, suggestions


def _int(value):
    return parse_id(value)


def clean_homework(client_id: int, data: dict) -> dict:
    errors, out = {}, {}
    out["text"] = (data.get("text") or "").strip()
    if not out["text"]:
        errors["text"] = "Describe the task in a sentence the client will understand."
    elif len(out["text"]) > MAX_TEXT:
        errors["text"] = f"At most {MAX_TEXT} characters."
    out["due_date"] = None
    if (data.get("due_date") or "").strip():
        try:
            out["due_date"] = parse_date(data["due_date"])
        except InputError as exc:
            errors["due_date"] = str(exc)
    out["goal"] = out["plan"] = out["objective"] = None
    goal_id, objective_id = _int(data.get("goal")), _int(data.get("objective"))
    if objective_id:
        objective = (Objective.select(Objective, Goal).join(Goal).join(Plan)
                     .where((Objective.id == objective_id) & (Plan.client == client_id)
                            & Objective.deleted_at.is_null()).first())
        if objective is None:
            errors["objective"] = "Choose an objective of this client's plan."
        else:
            out["objective"], goal_id = objective.id, objective.goal_id
    if goal_id:
        goal = (Goal.select().join(Plan)
                .where((Goal.id == goal_id) & (Plan.client == client_id)
                       & Goal.deleted_at.is_null()).first())
        if goal is None:
            errors["goal"] = "Choose a goal of this client's plan."
        else:
            out["goal"], out["plan"] = goal.id, goal.plan_id
    if errors:
        raise HomeworkError(errors)
    return out


# --- clinician writes ---------------------------------------------------------------------------

def assign_homework(user, client: Client, data: dict) -> Homework:
    clean = clean_homework(client.id, data)
    with db.atomic():
        row = Homework.create(client=client.id, assigned_by=user, **clean)
        if row.plan_id:
            record_event(user, row.plan_id, "homework", row.id, "added", row.text[:200])
        audit.record("homework.create", user, target_type="homework", target_id=row.id,
                     detail=f"client {client.id}")
    return row


class _Snapshot:
    def __init__(self, row_id, values):
        self.id = row_id
        self.__dict__.update(values)


def clinician_values(hw: Homework) -> dict:
    return {"text": hw.text, "due_date": hw.due_date, "goal": hw.goal_id,
            "objective": hw.objective_id, "status": hw.status}


def update_homework(user, hw: Homework, data: dict, expected_version: int, base: dict) -> Homework:
    """The clinician changes the task, its due date, link or status (for example in session),
    merged with what the client or a colleague saved since the form was opened: a status the
    client set meanwhile stays unless this form changed the status too (then EditConflict)."""
    clean = clean_homework(hw.client_id, data)
    status = data.get("status") or hw.status
    if status not in HOMEWORK_STATUSES:
        raise HomeworkError({"status": "Choose a status from the list."})
    plan = clean.pop("plan")
    mine = {**clean, "status": status}
    with conflicts_audited(user, "homework", hw.id, clinician_values), db.atomic():
        before, write = save_guarded(Homework, hw.id, expected_version, mine, base,
                                     where=Homework.deleted_at.is_null(),
                                     current_of=clinician_values)
        extra = {}
        if "goal" in write:
            extra["plan"] = plan
        if "status" in write:
            extra["completed_at"] = utcnow() if status != "assigned" else None
        if extra:
            Homework.update(**extra).where(Homework.id == hw.id).execute()
        plan_id = before.plan_id or extra.get("plan")
        if plan_id and write:  # the plan's history keeps the old task, date and status
            old = clinician_values(before)
            record_changes(user, plan_id, "homework",
                           _Snapshot(hw.id, {k: old[k] for k in write}), write)
        audit.record("homework.update", user, target_type="homework", target_id=hw.id,
                     detail=changed_detail(write))
    return Homework.get_by_id(hw.id)


def delete_homework(user, hw: Homework, restore: bool = False) -> Homework:
    """Soft delete (and undo): the row stays, so nothing the client wrote is lost."""
    with db.atomic():
        hw.deleted_at = None if restore else utcnow()
        Homework.update(deleted_at=hw.deleted_at).where(Homework.id == hw.id).execute()
        if hw.plan_id:
            record_event(user, hw.plan_id, "homework", hw.id, "restored" if restore else "removed",
                         hw.text[:200])
        audit.record("homework.restore" if restore else "homework.delete", user,
                     target_type="homework", target_id=hw.id)
    return hw


# --- the client's side --------------------------------------------------------------------------

def client_values(hw: Homework) -> dict:
    return {"status": hw.status, "feedback": hw.feedback}


def record_client_answer(hw: Homework, status: str, feedback: str, expected_version: int,
                         base: dict) -> tuple[Homework, dict]:
    """The client marks homework done or skipped, with optional feedback (portal), merged with
    what the clinician (or the client in another tab) saved since the card was shown. An empty
    note keeps the one saved. Returns (homework now, fields written); EditConflict when the
    same field changed on both sides, HomeworkRemoved when the clinician removed it."""
    errors = {}
    if status not in CLIENT_STATUSES:
        errors["status"] = "Choose done or skipped."
    feedback = (feedback or "").replace("\r\n", "\n").strip()
    if len(feedback) > MAX_FEEDBACK:
        errors["feedback"] = f"Please keep it under {MAX_FEEDBACK} characters."
    if errors:
        raise HomeworkError(errors)
    mine = {"status": status, **({"feedback": feedback} if feedback else {})}
    live = Homework.deleted_at.is_null() & (Homework.client == hw.client_id)
    with db.atomic():
        if not Homework.select().where((Homework.id == hw.id) & live).exists():
            raise HomeworkRemoved(hw.id)
        _before, write = save_guarded(Homework, hw.id, expected_version, mine, base, where=live,
                                      current_of=client_values)
        now, extra = utcnow(), {}
        if "status" in write:
            extra["completed_at"] = now
        if "feedback" in write:
            extra.update(feedback_at=now, feedback_seen=False)
        if extra:
            Homework.update(**extra).where(Homework.id == hw.id).execute()
    return Homework.get_by_id(hw.id), write


# --- what needs the clinician ------------------------------------------------------------------

# Each runs on every dashboard view: compiled once (core/prepared.py), as building the SQL of
# these scoped queries cost peewee more than running them, and reading only the columns the
# panel shows. Dates go in as ISO strings.
_LISTED = (Homework.id, Homework.client, Homework.text, Homework.status, Homework.due_date,
           Homework.feedback_at, Client.id, Client.first_name, Client.last_name)

def new_feedback(user, limit: int = 20) -> list[Homework]:
    return rows_in_scope("dashboard.feedback", lambda: _live(
        Homework.select(*_LISTED).join(Client)
        .where(Homework.feedback_at.is_null(False) & (Homework.feedback_seen == False)))  # noqa: E712
        .order_by(Homework.feedback_at.desc()).limit(limit), user)


def overdue(user, today: dt.date | None = None, limit: int = 20) -> list[Homework]:
    today = (today or dt.date.today()).isoformat()
    return rows_in_scope("dashboard.overdue", lambda day: _live(
        Homework.select(*_LISTED).join(Client)
        .where((Client.status == "active") & (Homework.status == "assigned")
               & (Homework.due_date < day)))
        .order_by(Homework.due_date, Homework.id).limit(limit), user, today)


def plans_due_for_review(user, today: dt.date | None = None, limit: int = 20) -> list[Plan]:
    today = (today or dt.date.today()).isoformat()
    return rows_in_scope("dashboard.reviews", lambda day: (
        Plan.select(Plan.id, Plan.client, Plan.title, Plan.review_date, Client.id,
                    Client.first_name, Client.last_name).join(Client)
        .where((Client.status == "active") & (Plan.status == "active")
               & Plan.deleted_at.is_null() & (Plan.review_date <= day))
        .order_by(Plan.review_date, Plan.id).limit(limit)), user, today)
