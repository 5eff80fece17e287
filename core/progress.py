"""The plan's progress across session notes: the active goals carried into a new note with
their last entries, ratings over time, and the goals left without progress."""
import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN, SQL, NodeList, Select, fn

from core.access import rows_in_scope
from core.db import db, is_sqlite
from core.homework import homework_since
from core.measures import latest_scores
from core.models import (Client, Goal, GoalProgress, Objective, Plan, ProgressEntry,
                         SessionNote)
from core.prepared import Prepared

CLOSED_GOAL_STATUSES = ("achieved", "discontinued")
STALE_AFTER = 2  # notes in a row without progress before a goal is flagged


def active_goals(client_id: int) -> list[Goal]:
    """Every live goal of the client's active plan(s), plan attached, in plan order."""
    return list(Goal.select(Goal, Plan).join(Plan)
                .where((Plan.client == client_id) & (Plan.status == "active")
                       & Plan.deleted_at.is_null() & Goal.deleted_at.is_null())
                .order_by(Plan.start_date, Plan.id, Goal.position, Goal.id))


@dataclass
class CarriedGoal:
    goal: Goal
    last_entry: ProgressEntry | None = None
    objectives: list = field(default_factory=list)
    notes_without_progress: int = 0

    @property
    def is_open(self) -> bool:
        return self.goal.status not in CLOSED_GOAL_STATUSES

    @property
    def is_stale(self) -> bool:
        """Flagged "no progress for N notes": the same rule as goals_without_progress."""
        return self.is_open and self.notes_without_progress >= STALE_AFTER


@dataclass
class CarryForward:
    goals: list[CarriedGoal]
    homework: list
    last_note: SessionNote | None
    scores: dict


def last_entries(goal_ids, exclude_note: int | None = None) -> dict[int, ProgressEntry]:
    """{goal id: its progress entry from the latest session} in one query, the note's date and
    time attached, and `.last_written_at`: when the newest note with an entry for the goal was
    written (what `goal_progress` keeps for the dashboard, so both count "notes since" alike).

    Latest means the note's session date, then when it was written, then the entry id. Not the
    entry id alone: editing an older note writes its entries again, with new ids."""
    if not goal_ids:
        return {}
    rank = fn.ROW_NUMBER().over(partition_by=[ProgressEntry.goal], order_by=[
        SessionNote.date.desc(), SessionNote.created_at.desc(), ProgressEntry.id.desc()])
    ranked = (ProgressEntry.select(ProgressEntry.id.alias("entry_id"), rank.alias("rank"))
              .join(SessionNote).where(ProgressEntry.goal.in_(goal_ids)))
    written, its = SessionNote.alias("written"), ProgressEntry.alias("its")
    last_at = (written.select(fn.MAX(written.created_at)).join(its, on=(its.note == written.id))
               .where(its.goal == ProgressEntry.goal))
    if exclude_note:
        ranked = ranked.where(ProgressEntry.note != exclude_note)
        last_at = last_at.where(written.id != exclude_note)
    ranked = ranked.alias("ranked")
    # Of the note only its date and time: its text is most of its row, and never shown here.
    rows = (ProgressEntry.select(ProgressEntry, SessionNote.id, SessionNote.date,
                                 SessionNote.created_at, last_at.alias("last_written_at"))
            .join(SessionNote).switch(ProgressEntry)
            .join(ranked, on=(ranked.c.entry_id == ProgressEntry.id))
            .where(ranked.c.rank == 1))
    out = {}
    for row in rows:
        # A subquery's result carries no column type: SQLite returns the time as text.
        row.last_written_at = SessionNote.created_at.python_value(row.last_written_at)
        out[row.goal_id] = row
    return out


def carry_forward(client: Client, editing: int | None = None) -> CarryForward:
    """What a new note opens with: the active goals, each with its last progress entry and its
    objectives, the homework since the last note, and the latest scores. Fixed query count.
    `editing`: the id of the note being edited, which is not its own "last session"."""
    goals = active_goals(client.id)
    ids = [g.id for g in goals]
    entries = last_entries(ids, editing)
    objectives = {}
    if ids:
        for row in (Objective.select().where(Objective.goal.in_(ids) & Objective.deleted_at.is_null())
                    .order_by(Objective.position, Objective.id)):
            objectives.setdefault(row.goal_id, []).append(row)
    # One query for the client's notes serves both the "notes since" counts and the last note.
    notes = [n for n in SessionNote.select(SessionNote.id, SessionNote.date, SessionNote.created_at)
             .where(SessionNote.client == client.id)
             .order_by(SessionNote.date.desc(), SessionNote.created_at.desc()) if n.id != editing]

    def notes_since(goal):
        # As the dashboard's SQL counts (_stale_goals_query): notes written after the newest
        # note with progress for the goal, or after the plan was made.
        entry = entries.get(goal.id)
        since = entry.last_written_at if entry else goal.plan.created_at
        return sum(1 for note in notes if note.created_at > since)

    previous = notes[0] if notes else None
    return CarryForward(
        goals=[CarriedGoal(g, entries.get(g.id), objectives.get(g.id, []), notes_since(g))
               for g in goals],
        homework=homework_since(client.id, previous.created_at if previous else None),
        last_note=previous, scores=latest_scores(client.id))


def goal_ratings(client_id: int) -> dict[int, list[tuple[dt.date, int]]]:
    """{goal id: [(session date, rating), ...]} for the client's rated progress, one query."""
    out = {}
    for row in (ProgressEntry.select(ProgressEntry.goal, ProgressEntry.rating, SessionNote.date)
                .join(SessionNote).where((SessionNote.client == client_id)
                                         & ProgressEntry.rating.is_null(False))
                .order_by(SessionNote.date, SessionNote.created_at).objects()):
        out.setdefault(row.goal_id, []).append((row.date, row.rating))
    return out


# --- goals without progress ---------------------------------------------------------------------

@dataclass(frozen=True)
class StaleGoal:
    """A goal that went several of its client's notes without a progress entry."""
    id: int
    title: str
    client_id: int
    client_name: str
    notes_since: int


def goals_without_progress(where, minimum: int = STALE_AFTER,
                           limit: int = 200) -> dict[int, StaleGoal]:
    """{goal id: StaleGoal} for the open goals of active plans of the clients matching `where`
    (an expression on Client) that went `minimum` or more of the client's notes without a
    progress entry."""
    return _stale_goals(_stale_goals_query(where, minimum, limit).tuples())


def stale_goals_in_caseload(user) -> list[StaleGoal]:
    """goals_without_progress over the user's active clients (the dashboard), its SQL compiled
    once per role."""
    rows = rows_in_scope("dashboard.stale", lambda scope: _stale_goals_query(
        scope & (Client.status == "active"), STALE_AFTER, 200).tuples(), user, pass_scope=True)
    return list(_stale_goals(rows).values())


def _stale_goals(rows) -> dict[int, StaleGoal]:
    return {goal_id: StaleGoal(goal_id, title, client_id, f"{first} {last}", count)
            for goal_id, title, client_id, first, last, count, _position in rows}


def _client_in(clients):
    """Plan.client among `clients`. PostgreSQL gets the ids as one array, computed first, so it
    walks the caseload's plans and goals by index instead of hashing every goal of the practice
    (12 ms -> a few ms on the benchmark's practice)."""
    if is_sqlite():
        return Plan.client.in_(clients)
    return Plan.client == fn.ANY(fn.ARRAY(clients))


def _stale_goals_query(where, minimum: int, limit: int):
    """The stale goals of the clients matching `where`, as one query returning only those.

    Each goal's last progress comes from
    `goal_progress` (kept by triggers), and its notes since then are counted on the
    (client, created_at) index. Aggregating every progress entry of a caseload on each view
    cost the dashboard ~20 ms on the benchmark's practice; this costs ~2 ms.
    """
    # Driven from the clients in scope: unary + keeps SQLite off the plan.status index.
    in_scope = Client.select(Client.id).where(where)
    later = SessionNote.alias("later")
    since = fn.COALESCE(GoalProgress.last_at, Plan.created_at)
    notes_since = (later.select(fn.COUNT(later.id))
                   .where((later.client == Plan.client) & (later.created_at > since)))
    goals = (Goal.select(Goal.id, Goal.title, Plan.client, Client.first_name, Client.last_name,
                         notes_since.alias("since"), Goal.position)
             .join(Plan).join(Client).switch(Goal)
             .join(GoalProgress, JOIN.LEFT_OUTER, on=(GoalProgress.goal_id == Goal.id))
             .where(_client_in(in_scope)
                    & ((NodeList((SQL("+"), Plan.status), glue="") if is_sqlite() else Plan.status)
                       == "active")
                    & Plan.deleted_at.is_null() & Goal.deleted_at.is_null()
                    & Goal.status.not_in(CLOSED_GOAL_STATUSES)))
    if not is_sqlite():
        # OFFSET 0 keeps PostgreSQL from pushing `since >= n` below the scope join, where it
        # counted notes for every goal of the practice (24 ms instead of ~3 on the benchmark).
        goals = goals.offset(0)
    return (Select([goals], [SQL("*")]).where(SQL("since") >= minimum)
            .order_by(SQL("last_name"), SQL("first_name"), SQL("position"), SQL("id"))
            .limit(limit).bind(db))


def stale_goals_of_client(client: Client, minimum: int = STALE_AFTER) -> list[StaleGoal]:
    """goals_without_progress for one client (the client page), compiled once."""
    if minimum != STALE_AFTER:
        return list(goals_without_progress(Client.id == client.id, minimum).values())
    return list(_stale_goals(_STALE_OF_CLIENT.all("stale goals of client", client.id)).values())


_STALE_OF_CLIENT = Prepared(lambda client_id: _stale_goals_query(
    Client.id == client_id, STALE_AFTER, 200).tuples())

