"""Client action plans: made from a template version (or blank), loaded for the plan page in a
fixed number of queries, and the plan-level changes (status, dates, agreement, history).

Goal, objective and intervention edits live in core/goals.py.
"""
import datetime as dt
import re
from dataclasses import dataclass, field

from peewee import JOIN, Case, fn

from core import audit
from core.access import lookup, template_scope
from core.db import db, utcnow
from core.inputs import MAX_YEAR, MIN_YEAR, InputError, add_days, parse_date
from core.prepared import Prepared
from core.models import (PLAN_STATUSES, Agreement, Client, Goal, HomeworkSuggestion,
                         Intervention, Objective, Plan, PlanCounter, Revision, Template,
                         TemplateVersion, User)
from core.merge import EditConflict, as_text, save_guarded
from core.revisions import record_changes
from core.measures import latest_scores, target_status
from core.rendering import render_markdown
from core.search import matching_ids_sql
from core.template_format import fill_placeholders, parse_template

KNOWN_FIELDS = {"measure": "Measure", "baseline": "Baseline", "target": "Target",
                "timeframe": "Timeframe", "description": "Description"}
_TIMEFRAME = re.compile(r"^\s*([0-9]{1,3})\s*(day|week|month|year)s?\b", re.I)
REVIEW_EVERY = dt.timedelta(weeks=4)


class PlanError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def timeframe_to_date(timeframe: str, start: dt.date) -> dt.date | None:
    """'12 weeks' after `start` -> a date; None when the timeframe is not a plain duration."""
    match = _TIMEFRAME.match(timeframe or "")
    if not match:
        return None
    n, unit = int(match.group(1)), match.group(2).lower()
    if unit in ("day", "week"):
        # None past the sane range: a start date stored before dates were bounded could be
        # near date.max, and the sum would overflow.
        return add_days(start, n * (7 if unit == "week" else 1))
    months = n * (12 if unit == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                          31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    return dt.date(year, month + 1, day)


def placeholder_values(client: Client) -> dict[str, str]:
    return {"client_first_name": client.first_name, "client_name": client.first_name}


# --- lookups, all through the client scope ----------------------------------------------------

def plans_query():
    """A plan with its client and the template version it came from, in one query.

    Of the version only what the plan shows: its source text and HTML are most of its row."""
    return (Plan.select(Plan, Client, TemplateVersion.id, TemplateVersion.number,
                        TemplateVersion.template, Template.id, Template.title, Template.problem)
            .join(Client).switch(Plan)
            .join(TemplateVersion, JOIN.LEFT_OUTER).join(Template, JOIN.LEFT_OUTER))


def get_plan(user, plan_id: int) -> Plan:
    return lookup("plan", lambda record_id: plans_query().where(
        (Plan.id == record_id) & Plan.deleted_at.is_null()), user, "plan", plan_id)


def get_plan_for_page(user, plan_id: int) -> Plan:
    """get_plan, plus `.change_id`: the plan's counter, the version of the page. Read in the
    same statement as the plan and client rows, before anything else of the page (see
    blueprints/plans/page_cache.py for why that order matters)."""
    counter = PlanCounter.select(PlanCounter.n).where(PlanCounter.plan_id == Plan.id)
    return lookup("plan_page", lambda record_id: plans_query().select_extend(
        counter.alias("change_id")).where((Plan.id == record_id) & Plan.deleted_at.is_null()),
        user, "plan", plan_id)


def plans_for_client(client: Client) -> list[Plan]:
    return _PLANS_OF.all("plans of", client.id)


_PLANS_OF = Prepared(lambda client_id: Plan.select().where(
    (Plan.client == client_id) & Plan.deleted_at.is_null()).order_by(Plan.created_at.desc()))


# --- from a template to a plan ----------------------------------------------------------------

@dataclass
class Preview:
    """What the start-a-plan page shows: the template's goals with dates worked out."""
    version: TemplateVersion
    title: str
    problem: str
    goals: list = field(default_factory=list)  # (index, Goal from the format, target date)
    start: dt.date | None = None


def preview_plan(version: TemplateVersion, client: Client, start: dt.date) -> Preview:
    parsed = parse_template(version.source, f"template {version.template_id}")
    values = placeholder_values(client)
    preview = Preview(version=version, title=fill_placeholders(parsed.title, values),
                      problem=fill_placeholders(parsed.problem, values), start=start)
    for index, goal in enumerate(parsed.goals):
        timeframe = goal.fields.get("Timeframe", "")
        preview.goals.append((index, goal, timeframe_to_date(timeframe, start)))
    return preview


def _goal_rows(goal, values, start, baseline=None):
    fields = {k: fill_placeholders(v, values) for k, v in goal.fields.items()}
    known = {attr: fields.pop(key, "") for attr, key in KNOWN_FIELDS.items()}
    if baseline:
        known["baseline"] = baseline.strip()[:200]
    return dict(title=fill_placeholders(goal.title, values)[:300], extra_fields=fields,
                target_date=timeframe_to_date(known["timeframe"], start),
                **{k: v[:200] if k != "description" else v for k, v in known.items()})


def _sections(sections, values) -> list[dict]:
    """Free-text sections with their HTML rendered once, here, not on every view."""
    out = []
    for section in sections:
        body = fill_placeholders(section.body, values)
        out.append({"title": section.title, "body": body, "html": render_markdown(body)})
    return out


def create_plan_from_template(user, client: Client, version: TemplateVersion, goal_indexes,
                              start: dt.date, baselines: dict[int, str]) -> Plan:
    """One transaction: the plan, its chosen goals with their parts, and one more use counted."""
    preview = preview_plan(version, client, start)
    chosen = [g for g in preview.goals if g[0] in set(goal_indexes)]
    if not chosen:
        raise PlanError({"goals": "Keep at least one goal, or start a blank plan."})
    parsed = parse_template(version.source)
    values = placeholder_values(client)
    with db.atomic():
        plan = Plan.create(client=client, title=preview.title, problem=preview.problem,
                           status="active", start_date=start, review_date=start + REVIEW_EVERY,
                           template_version=version, created_by=user,
                           sections=_sections(parsed.sections, values))
        for position, (index, goal, _date) in enumerate(chosen):
            row = Goal.create(plan=plan, position=position,
                              **_goal_rows(goal, values, start, baselines.get(index)))
            for model, items in ((Objective, goal.objectives), (Intervention, goal.interventions),
                                 (HomeworkSuggestion, goal.homework)):
                if items:
                    model.insert_many([{"goal": row.id, "position": i,
                                        "text": fill_placeholders(t, values)}
                                       for i, t in enumerate(items)]).execute()
        Template.update(uses=Template.uses + 1).where(Template.id == version.template_id).execute()
        Revision.create(plan=plan, user=user, entity="plan", entity_id=plan.id, field="created",
                        new_value=f"from template version {version.number}")
        audit.record("plan.create", user, target_type="plan", target_id=plan.id)
    return plan


def create_blank_plan(user, client: Client, title: str = "", start: dt.date | None = None) -> Plan:
    start = start or dt.date.today()
    with db.atomic():
        plan = Plan.create(client=client, title=(title or "Action plan").strip()[:300],
                           status="draft", start_date=start, review_date=start + REVIEW_EVERY,
                           created_by=user)
        Revision.create(plan=plan, user=user, entity="plan", entity_id=plan.id, field="created",
                        new_value="blank plan")
        audit.record("plan.create", user, target_type="plan", target_id=plan.id)
    return plan


# --- the plan page ----------------------------------------------------------------------------

def attach_parts(goals: list, goal_ids) -> None:
    """Give each goal `.parts` (objectives, interventions, suggestions): three queries in all."""
    parts = {g.id: {"objectives": [], "interventions": [], "suggestions": []} for g in goals}
    for key, model in (("objectives", Objective), ("interventions", Intervention),
                       ("suggestions", HomeworkSuggestion)):
        rows = (model.select().where(model.goal.in_(goal_ids) & model.deleted_at.is_null())
                .order_by(model.position, model.id))
        for row in rows:
            parts[row.goal_id][key].append(row)
    for goal in goals:
        goal.parts = parts[goal.id]


@dataclass
class PlanPage:
    plan: Plan
    goals: list
    removed_goals: list
    agreement: Agreement | None
    changed_since_agreement: bool
    source: TemplateVersion | None
    goal_progress: dict  # goal id -> "target met on ..." / "n points to go" / None


def load_plan_page(plan: Plan) -> PlanPage:
    """Everything the plan page shows in a fixed number of queries, whatever the plan's size."""
    all_goals = list(Goal.select().where(Goal.plan == plan.id).order_by(Goal.position, Goal.id))
    attach_parts(all_goals, Goal.select(Goal.id).where(Goal.plan == plan.id))
    later = Revision.select(Revision.id).where(
        (Revision.plan == plan.id) & (Revision.at > Agreement.at))
    agreement = (Agreement.select(Agreement, fn.EXISTS(later).alias("changed"))
                 .where(Agreement.plan == plan.id)
                 .order_by(Agreement.at.desc(), Agreement.id.desc()).first())
    live = [g for g in all_goals if g.deleted_at is None]
    latest = latest_scores(plan.client_id)
    return PlanPage(plan=plan, goals=live,
                    removed_goals=[g for g in all_goals if g.deleted_at is not None],
                    agreement=agreement, changed_since_agreement=bool(agreement and agreement.changed),
                    source=plan.template_version if plan.template_version_id else None,
                    goal_progress={g.id: target_status(g, latest) for g in live})


# --- plan-level edits -------------------------------------------------------------------------

def clean_plan_data(data: dict) -> dict:
    errors, out = {}, {}
    out["title"] = (data.get("title") or "").strip()
    if not out["title"]:
        errors["title"] = "Give the plan a title."
    out["title"] = out["title"][:300]
    out["problem"] = (data.get("problem") or "").strip()
    for key in ("start_date", "review_date"):
        value = (data.get(key) or "").strip()
        out[key] = None
        if value:
            try:
                out[key] = parse_date(value)
            except InputError as exc:
                errors[key] = str(exc)
    if out["start_date"] and out["review_date"] and out["review_date"] < out["start_date"]:
        errors["review_date"] = "The review date comes after the start date."
    if errors:
        raise PlanError(errors)
    return out


PLAN_FIELDS = [("title", "Plan title"), ("problem", "Problem statement"),
               ("start_date", "Start date"), ("review_date", "Review date")]


def form_after_conflict(mine, base: dict, current, names) -> dict[str, str]:
    """What an edit form shows after a clash: my text in the fields I changed, the saved text
    in the others. The form's base becomes the saved version, so saving again keeps what the
    colleague saved in the fields I never touched instead of writing back what I first saw."""
    out = {}
    for name in names:
        value = as_text(mine.get(name))
        touched = name not in base or value != as_text(base[name])
        out[name] = value if touched else as_text(getattr(current, name))
    return out


def update_plan(user, plan: Plan, data: dict, expected_version: int,
                base: dict | None = None) -> Plan:
    """Save the plan's edit form, merged with a colleague's save of other fields meanwhile;
    EditConflict (core/merge.py) when both changed the same field."""
    clean = clean_plan_data(data)
    with db.atomic():
        before, written = save_guarded(Plan, plan.id, expected_version, clean, base or {},
                                       also={"updated_at": utcnow()}, known=plan,
                                       where=Plan.deleted_at.is_null())
        record_changes(user, plan.id, "plan", before, written)
        audit.record("plan.update", user, target_type="plan", target_id=plan.id)
    return plans_query().where(Plan.id == plan.id).get()


def set_plan_status(user, plan: Plan, status: str, base_status: str | None = None) -> Plan:
    """One click on a status button; `base_status` is the status the page showed (see
    core.goals.set_goal_status): a status set meanwhile by a colleague is never replaced unseen."""
    if status not in PLAN_STATUSES:
        raise PlanError({"status": "Unknown status."})
    if base_status is not None and plan.status not in (base_status, status):
        audit.record("plan.conflict", user, target_type="plan", target_id=plan.id, detail="status")
        raise EditConflict(plan, ["status"])
    if status != plan.status:
        with db.atomic():
            updated = (Plan.update(status=status, version=Plan.version + 1, updated_at=utcnow())
                       .where((Plan.id == plan.id) & (Plan.status == plan.status)).execute())
            if not updated:
                raise EditConflict(Plan.get_by_id(plan.id), ["status"])
            record_changes(user, plan.id, "plan", plan, {"status": status})
            audit.record("plan.status", user, target_type="plan", target_id=plan.id, detail=status)
        plan.status, plan.version = status, plan.version + 1
    return plan


def record_agreement(user, plan: Plan, client_name: str, agreed_on: str) -> Agreement:
    errors = {}
    name = (client_name or "").strip()
    if not name:
        errors["client_name"] = "Type the client's name as they confirmed it."
    try:
        day = parse_date(agreed_on) or dt.date.today()
    except InputError as exc:
        errors["agreed_on"] = str(exc)
    if errors:
        raise PlanError(errors)
    with db.atomic():
        agreement = Agreement.create(plan=plan, client_name=name[:200], agreed_on=day,
                                     plan_version=plan.version, recorded_by=user)
        audit.record("plan.agreement", user, target_type="plan", target_id=plan.id)
    return agreement


def plan_history(plan: Plan):
    return (Revision.select(Revision, User)
            .join(User, JOIN.LEFT_OUTER, on=(Revision.user == User.id), attr="author")
            .where(Revision.plan == plan.id).order_by(Revision.at.desc(), Revision.id.desc()))



# --- choosing a template ----------------------------------------------------------------------

def suggest_templates(user, problem: str, q: str = "", limit: int = 12, others: bool = True):
    """Templates for the client's presenting problem first, then (`others`) the rest of the
    visible library."""
    base = Template.select().where(template_scope(user))
    problem = (problem or "").strip().lower()
    matches = []
    if problem:
        cond = fn.LOWER(Template.problem) == problem
        words = matching_ids_sql(problem)
        exact_first = Case(None, [(fn.LOWER(Template.problem) == problem, 0)], 1)
        matches = list(base.where(cond | words if words is not None else cond)
                       .order_by(exact_first, Template.uses.desc(), Template.id).limit(limit))
    if not others:
        return matches, []
    rest = base.where(Template.id.not_in([t.id for t in matches] or [0]))
    words = matching_ids_sql(q)
    if words is not None:
        rest = rest.where(words)
    return matches, list(rest.order_by(Template.uses.desc(), Template.title).limit(limit))


def current_version_of(template: Template, number: int | None = None) -> TemplateVersion:
    """The template's version `number` when it exists, else its current version."""
    versions = TemplateVersion.select().where(TemplateVersion.template == template.id)
    wanted = versions.where(TemplateVersion.number == number).first() if number else None
    return wanted or versions.where(TemplateVersion.number == template.current_version).get()
