import datetime as dt
import json
import pathlib
import re

import pytest

from core.models import (AuditEvent, CareTeamMember, Client, Goal, Intervention, Objective, Plan,
                         Revision, Template, TemplateVersion)
from core.rendering import render_template_html
from core.template_format import parse_template
from tests.conftest import count_queries, in_db

LIBRARY = pathlib.Path(__file__).resolve().parent.parent / "template_library"


def make_template(user, name="depression-cbt-behavioral-activation.md", visibility="practice"):
    source = (LIBRARY / name).read_text(encoding="utf-8")
    parsed = parse_template(source, name)
    with in_db():
        template = Template.create(owner=user.id, practice=user.practice_id, visibility=visibility,
                                   title=parsed.title, problem=parsed.meta.get("problem", ""))
        TemplateVersion.create(template=template, number=1, source=source,
                               html=render_template_html(parsed))
    return template


def start_plan(c, client, template, goals=None, start="2026-01-05", **extra):
    """Confirm the preview page's form: every goal ticked unless `goals` says which."""
    data = {"start_date": start, **extra}
    if goals is not None:
        data["goals"] = goals
    response = c.submit(f"/clients/{client.id}/plans/new?template={template.id}", data,
                        action=f"/clients/{client.id}/plans")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return int(response.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture
def depression(world):
    with in_db():
        Client.update(presenting_problem="depression").where(Client.id == world.client_a1.id).execute()
    return make_template(world.admin_a)


@pytest.fixture
def plan_id(world, depression, as_user):
    return start_plan(as_user(world.clin_a1), world.client_a1, depression)


def first_goal(plan_id):
    with in_db():
        return Goal.select().where(Goal.plan == plan_id).order_by(Goal.position).first()


# --- from template to plan --------------------------------------------------------------------

def test_client_page_suggests_matching_template_and_reaches_active_plan_in_three_loads(
        world, depression, as_user):
    c = as_user(world.clin_a1)
    client_page = c.get(f"/clients/{world.client_a1.id}").get_data(as_text=True)
    link = f"/clients/{world.client_a1.id}/plans/new?template={depression.id}"
    assert link in client_page                                    # 0: the client's page
    preview = c.get(link)                                         # 1: the preview
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Create the active plan" in text
    assert "{client_first_name}" not in text and "Ada" in text
    today = dt.date.today()
    assert (today + dt.timedelta(weeks=12)).strftime("%d %b %Y") in text
    # 2: confirm with the defaults (every goal ticked, today's date) -> 3: the plan page
    goals = re.findall(r'name="goals" value="(\d+)" checked', text)
    response = c.submit(link, action=f"/clients/{world.client_a1.id}/plans", page=preview)
    assert response.status_code == 303
    plan_page = c.get(response.headers["Location"])
    assert plan_page.status_code == 200
    with in_db():
        plan = Plan.get()
        assert plan.status == "active" and plan.client_id == world.client_a1.id
        assert plan.template_version.template_id == depression.id
        assert Template.get_by_id(depression.id).uses == 1
        assert Goal.select().where(Goal.plan == plan).count() == len(goals)


def test_start_page_lists_matching_templates_first(world, depression, as_user):
    other = make_template(world.admin_a, "insomnia-cbt-i.md")
    c = as_user(world.clin_a1)
    text = c.get(f"/clients/{world.client_a1.id}/plans/new").get_data(as_text=True)
    assert "Matching depression" in text and "Blank plan" in text
    assert text.index(f"template={depression.id}") < text.index(f"template={other.id}")


def test_preview_choices_baselines_and_placeholders(world, depression, as_user):
    c = as_user(world.clin_a1)
    plan_id = start_plan(c, world.client_a1, depression, goals=["0", "2"], start="2026-01-05",
                         baseline_0="PHQ-9 of 17 at intake")
    with in_db():
        plan = Plan.get_by_id(plan_id)
        assert plan.start_date == dt.date(2026, 1, 5)
        goals = list(Goal.select().where(Goal.plan == plan).order_by(Goal.position))
        parsed = parse_template(TemplateVersion.get().source)
        assert [g.title for g in goals] == [parsed.goals[0].title, parsed.goals[2].title]
        assert goals[0].baseline == "PHQ-9 of 17 at intake"
        assert goals[0].target_date == dt.date(2026, 1, 5) + dt.timedelta(weeks=12)
        assert Objective.select().where(Objective.goal == goals[0]).count() == len(parsed.goals[0].objectives)
        assert "{client_first_name}" not in plan.problem and "Ada" in plan.problem


def test_plan_with_no_goals_is_refused(world, depression, as_user):
    c = as_user(world.clin_a1)
    response = c.submit(f"/clients/{world.client_a1.id}/plans/new?template={depression.id}",
                        {"start_date": "2026-01-05", "goals": []},  # every box unticked
                        action=f"/clients/{world.client_a1.id}/plans")
    assert response.status_code == 422 and "at least one goal" in response.get_data(as_text=True)
    with in_db():
        assert Plan.select().count() == 0


def test_blank_plan_and_add_goal_in_place(world, as_user):
    c = as_user(world.clin_a1)
    response = c.submit(f"/clients/{world.client_a1.id}/plans/new", {"title": "Our plan"},
                        action=f"/clients/{world.client_a1.id}/plans")
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    form = c.hx_get(f"/plans/{plan_id}/goals/new")
    assert form.status_code == 200 and "<html" not in form.get_data(as_text=True)
    added = c.send(f"/plans/{plan_id}/goals", {"title": "Walk three times a week", "measure": "walks per week",
                                               "target": "3", "target_date": "2026-03-01"}, htmx=True)
    assert added.status_code == 200
    text = added.get_data(as_text=True)
    assert "Walk three times a week" in text and 'id="goal-add"' in text
    bad = c.send(f"/plans/{plan_id}/goals", {"title": "", "measure": "kept"}, htmx=True)
    assert bad.status_code == 422 and 'value="kept"' in bad.get_data(as_text=True)


# --- inline editing ---------------------------------------------------------------------------

def test_goal_inline_edit_contract(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    edit = c.hx_get(f"/goals/{goal.id}/edit")
    body = edit.get_data(as_text=True)
    assert edit.status_code == 200 and body.lstrip().startswith("<article") and "<html" not in body
    assert 'hx-target="this"' in body and "HX-Request" in edit.headers["Vary"]
    assert "<html" in c.get(f"/goals/{goal.id}/edit").get_data(as_text=True)
    saved = c.send(f"/goals/{goal.id}", {"title": "Lift mood so daily life feels manageable",
                                         "measure": "PHQ-9", "baseline": "17", "target": "PHQ-9 below 10",
                                         "target_date": "2026-04-01", "version": goal.version}, htmx=True)
    card = saved.get_data(as_text=True)
    assert saved.status_code == 200 and card.lstrip().startswith("<article")
    assert "Lift mood so daily life feels manageable" in card and 'name="title"' not in card
    cancel = c.hx_get(f"/goals/{goal.id}")
    assert cancel.status_code == 200 and "Lift mood" in cancel.get_data(as_text=True)
    with in_db():
        row = Goal.get_by_id(goal.id)
        assert row.title == "Lift mood so daily life feels manageable" and row.version == goal.version + 1
        assert row.target_date == dt.date(2026, 4, 1)


def test_goal_edit_without_javascript(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    response = c.submit(f"/goals/{goal.id}/edit", {"title": "Plain form save works"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/plans/{plan_id}#goal-{goal.id}")
    bad = c.submit(f"/goals/{goal.id}/edit", {"title": "", "measure": "typed"})
    assert bad.status_code == 422 and "<html" in bad.get_data(as_text=True)
    assert 'value="typed"' in bad.get_data(as_text=True)


def test_validation_error_keeps_input_inside_form(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    response = c.send(f"/goals/{goal.id}", {"title": "", "measure": "my measure", "target_date": "soon",
                                            "version": goal.version}, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A goal needs a title." in body and "Use the form YYYY-MM-DD." in body
    assert 'value="my measure"' in body and 'value="soon"' in body
    with in_db():
        assert Goal.get_by_id(goal.id).title == goal.title


def test_stale_edit_is_refused_showing_both_versions(world, plan_id, as_user):
    with in_db():
        CareTeamMember.create(client=world.client_a1.id, user=world.clin_a2.id)
    first, second = as_user(world.clin_a1), as_user(world.clin_a2)
    goal = first_goal(plan_id)
    assert second.hx_get(f"/goals/{goal.id}/edit").status_code == 200
    ok = first.send(f"/goals/{goal.id}", {"title": "Saved first by clinician one", "measure": "PHQ-9",
                                          "version": goal.version}, htmx=True)
    assert ok.status_code == 200
    stale = second.send(f"/goals/{goal.id}", {"title": "Typed by clinician two", "measure": "BDI",
                                              "version": goal.version}, htmx=True)
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert 'value="Typed by clinician two"' in body and "Saved first by clinician one" in body
    assert "use theirs" in body
    with in_db():
        assert Goal.get_by_id(goal.id).title == "Saved first by clinician one"
    version = re.search(r'name="version" value="(\d+)"', body).group(1)
    keep_mine = second.send(f"/goals/{goal.id}", {"title": "Typed by clinician two", "measure": "BDI",
                                                  "version": version}, htmx=True)
    assert keep_mine.status_code == 200
    with in_db():
        assert Goal.get_by_id(goal.id).title == "Typed by clinician two"


def test_objective_and_intervention_inline(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    with in_db():
        objective = Objective.select().where(Objective.goal == goal.id).first()
        intervention = Intervention.select().where(Intervention.goal == goal.id).first()
    form = c.hx_get(f"/objectives/{objective.id}/edit")
    assert form.status_code == 200 and form.get_data(as_text=True).lstrip().startswith("<li")
    saved = c.send(f"/objectives/{objective.id}", {"text": "Plan one pleasant activity a day",
                                                   "status": "in progress", "version": objective.version},
                   htmx=True)
    assert saved.status_code == 200 and "Plan one pleasant activity a day" in saved.get_data(as_text=True)
    stale = c.send(f"/objectives/{objective.id}", {"text": "old form", "version": objective.version}, htmx=True)
    assert stale.status_code == 409 and "Plan one pleasant activity a day" in stale.get_data(as_text=True)
    empty = c.send(f"/interventions/{intervention.id}", {"text": " ", "version": intervention.version}, htmx=True)
    assert empty.status_code == 422
    added = c.send(f"/goals/{goal.id}/interventions", {"text": "Values clarification, session 4"}, htmx=True)
    assert added.status_code == 200 and "Values clarification, session 4" in added.get_data(as_text=True)
    with in_db():
        assert Objective.get_by_id(objective.id).status == "in progress"
        assert Intervention.select().where(Intervention.text == "Values clarification, session 4").exists()


def test_remove_and_undo(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    removed = c.send(f"/goals/{goal.id}/remove", htmx=True)
    assert removed.status_code == 200 and "Undo" in removed.get_data(as_text=True)
    with in_db():
        assert Goal.get_by_id(goal.id).deleted_at is not None
    assert c.hx_get(f"/goals/{goal.id}/edit").status_code == 404
    restored = c.send(f"/goals/{goal.id}/restore", htmx=True)
    assert restored.status_code == 200 and goal.title in restored.get_data(as_text=True)
    with in_db():
        assert Goal.get_by_id(goal.id).deleted_at is None
        objective = Objective.select().where(Objective.goal == goal.id).first()
    # Without JavaScript: a redirect, and the next page offers Undo.
    response = c.submit(f"/plans/{plan_id}", action=f"/objectives/{objective.id}/remove")
    assert response.status_code == 303
    shown = c.get(response.headers["Location"])
    page = shown.get_data(as_text=True)
    assert f"/objectives/{objective.id}/restore" in page and "Undo" in page
    assert c.submit(response.headers["Location"], action=f"/objectives/{objective.id}/restore",
                    page=shown).status_code == 303
    with in_db():
        assert Objective.get_by_id(objective.id).deleted_at is None


def test_status_is_one_click_and_goals_reorder(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    card = c.send(f"/goals/{goal.id}/status", {"status": "in progress"}, htmx=True)
    assert card.status_code == 200 and 'aria-pressed="true">in progress' in card.get_data(as_text=True)
    assert c.send(f"/goals/{goal.id}/status", {"status": "nonsense"}, htmx=True).status_code == 422
    with in_db():
        order = [g.id for g in Goal.select().where(Goal.plan == plan_id).order_by(Goal.position)]
    moved = c.send(f"/goals/{order[0]}/move", {"direction": "down"}, htmx=True)
    # Nothing is redrawn (static/stepwise.js moves the neighbour's node): an event names both.
    assert moved.status_code == 204 and json.loads(moved.headers["HX-Trigger"]) == {
        "goal-moved": {"goal": order[0], "other": order[1], "direction": "down"}}
    with in_db():
        assert [g.id for g in Goal.select().where(Goal.plan == plan_id).order_by(Goal.position)] == \
            [order[1], order[0]] + order[2:]


def test_smart_check_updates_on_save(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    card = c.send(f"/goals/{goal.id}", {"title": "Feel better", "version": goal.version}, htmx=True)
    text = card.get_data(as_text=True)
    for letter in ("S", "M", "A", "T"):
        assert f'<abbr title="' in text and f">{letter}</abbr>" in text
    full = c.send(f"/goals/{goal.id}", {"title": "Sleep seven hours on five nights a week", "measure": "sleep diary",
                                        "baseline": "2 nights", "target": "5 nights", "target_date": "2026-05-01",
                                        "version": goal.version + 1}, htmx=True)
    assert "SMART check: all five present" in full.get_data(as_text=True)


# --- access -----------------------------------------------------------------------------------

def _urls(plan_id, goal_id, objective_id, intervention_id):
    gets = [f"/plans/{plan_id}", f"/plans/{plan_id}/edit", f"/plans/{plan_id}/history",
            f"/plans/{plan_id}/print", f"/plans/{plan_id}/export.md", f"/plans/{plan_id}/goals/new",
            f"/goals/{goal_id}", f"/goals/{goal_id}/edit", f"/objectives/{objective_id}",
            f"/objectives/{objective_id}/edit", f"/interventions/{intervention_id}/edit",
            f"/goals/{goal_id}/objectives/new"]
    posts = [(f"/plans/{plan_id}", {"title": "x", "version": 1}), (f"/plans/{plan_id}/status", {"status": "archived"}),
             (f"/plans/{plan_id}/agreement", {"client_name": "x"}), (f"/plans/{plan_id}/goals", {"title": "x"}),
             (f"/goals/{goal_id}", {"title": "x", "version": 1}), (f"/goals/{goal_id}/status", {"status": "achieved"}),
             (f"/goals/{goal_id}/remove", {}), (f"/goals/{goal_id}/restore", {}), (f"/goals/{goal_id}/move", {"direction": "down"}),
             (f"/goals/{goal_id}/objectives", {"text": "x"}), (f"/objectives/{objective_id}", {"text": "x", "version": 1}),
             (f"/objectives/{objective_id}/remove", {}), (f"/interventions/{intervention_id}", {"text": "x", "version": 1}),
             (f"/interventions/{intervention_id}/remove", {})]
    return gets, posts


@pytest.mark.parametrize("who", ["clin_a2", "clin_b", "admin_b"])
def test_every_plan_url_is_404_outside_scope(world, plan_id, as_user, who):
    c = as_user(getattr(world, who))
    goal = first_goal(plan_id)
    with in_db():
        objective = Objective.select().where(Objective.goal == goal.id).first()
        intervention = Intervention.select().where(Intervention.goal == goal.id).first()
        before = [list(m.select().dicts()) for m in (Plan, Goal, Objective, Intervention, Revision)]
    gets, posts = _urls(plan_id, goal.id, objective.id, intervention.id)
    for url in gets:
        assert c.get(url).status_code == 404, url
        assert c.hx_get(url).status_code == 404, url
    for url, data in posts:
        assert c.forge(url, data).status_code == 404, url  # forged: no page is open to them
        assert c.send(url, data, htmx=True).status_code == 404, url
    with in_db():
        assert [list(m.select().dicts()) for m in (Plan, Goal, Objective, Intervention, Revision)] == before
        denied = AuditEvent.select().where((AuditEvent.action == "access.denied") & (AuditEvent.user == getattr(world, who).id))
        assert denied.count() == 2 * (len(gets) + len(posts))


def test_admin_of_practice_can_open_plan(world, plan_id, as_user):
    assert as_user(world.admin_a).get(f"/plans/{plan_id}").status_code == 200


def test_inline_writes_need_csrf(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    response = c.http.post(f"/goals/{goal.id}", data={"title": "no token", "version": goal.version},
                           headers={"HX-Request": "true"})
    assert response.status_code == 400
    with in_db():
        assert Goal.get_by_id(goal.id).title == goal.title


# --- history, agreement, export, queries ------------------------------------------------------

def test_history_keeps_old_target_date(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    old = goal.target_date
    c.send(f"/goals/{goal.id}", {"title": goal.title, "measure": goal.measure, "baseline": goal.baseline,
                                 "target": goal.target, "timeframe": goal.timeframe,
                                 "target_date": "2026-06-30", "version": goal.version}, htmx=True)
    with in_db():
        revision = Revision.get((Revision.entity == "goal") & (Revision.field == "target_date"))
        assert (revision.old_value, revision.new_value) == (old.isoformat(), "2026-06-30")
        assert revision.user_id == world.clin_a1.id
        assert Revision.select().where(Revision.field == "title").count() == 0  # unchanged fields
    history = c.get(f"/plans/{plan_id}/history").get_data(as_text=True)
    assert old.isoformat() in history and "2026-06-30" in history and "target_date" in history


def test_agreement_and_changed_since(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    agreement = f"/plans/{plan_id}/agreement"
    assert c.submit(f"/plans/{plan_id}", {"client_name": ""}, action=agreement).status_code == 422
    assert c.submit(f"/plans/{plan_id}", {"client_name": "Ada Lovelace", "agreed_on": "2026-01-05"},
                    action=agreement).status_code == 303
    page = c.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "Reviewed and agreed by <strong>Ada Lovelace</strong>" in page
    assert "Changed since the client agreed" not in page
    goal = first_goal(plan_id)
    c.send(f"/goals/{goal.id}/status", {"status": "in progress"}, htmx=True)
    assert "Changed since the client agreed" in c.get(f"/plans/{plan_id}").get_data(as_text=True)


def test_plan_stale_header_edit_conflict(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    assert c.send(f"/plans/{plan_id}", {"title": "Renamed", "version": 1}, htmx=True).status_code == 200
    stale = c.send(f"/plans/{plan_id}", {"title": "Stale rename", "version": 1}, htmx=True)
    assert stale.status_code == 409 and "Renamed" in stale.get_data(as_text=True)
    with in_db():
        assert Plan.get_by_id(plan_id).title == "Renamed"


def test_print_and_markdown_export(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    printed = c.get(f"/plans/{plan_id}/print").get_data(as_text=True)
    assert "print.css" in printed and "Client: ____" in printed
    export = c.get(f"/plans/{plan_id}/export.md")
    assert export.headers["Content-Disposition"].startswith("attachment")
    parsed = parse_template(export.get_data())
    with in_db():
        titles = [g.title for g in Goal.select().where(Goal.plan == plan_id).order_by(Goal.position)]
    assert [g.title for g in parsed.goals] == titles


def _add_goals(plan_id, n):
    with in_db():
        for i in range(n):
            goal = Goal.create(plan=plan_id, position=100 + i, title=f"Extra goal number {i}", measure="count")
            for j in range(3):
                Objective.create(goal=goal, position=j, text=f"objective {j}")
            for j in range(2):
                Intervention.create(goal=goal, position=j, text=f"intervention {j}")


def test_plan_page_query_count_is_fixed(app, world, depression, as_user):
    """Rendered (cache miss) and from the page cache (hit): a fixed count either way."""
    from blueprints.plans.page_cache import RenderedCache
    c = as_user(world.clin_a1)
    small = start_plan(c, world.client_a1, depression)
    big = start_plan(c, world.client_a1, depression)
    _add_goals(small, 2)
    _add_goals(big, 17)
    misses, hits = [], []
    for plan_id in (small, big):
        c.get(f"/plans/{plan_id}")  # warm the session row
        for counts in (misses, hits):
            if counts is misses:
                app.extensions["plan_page_cache"] = RenderedCache()
            with count_queries() as counter:
                assert c.get(f"/plans/{plan_id}").status_code == 200
            counts.append(counter.count)
    with in_db():
        assert Goal.select().where(Goal.plan == big).count() == 20
    assert misses[0] == misses[1] and misses[1] <= 10, misses
    assert hits[0] == hits[1] and hits[1] < misses[1], hits


def test_goal_card_shows_progress_towards_instrument_target(world, plan_id, as_user):
    from core.models import MeasureScore
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)  # measured by PHQ-9, target "PHQ-9 below 10"
    with in_db():
        MeasureScore.create(client=world.client_a1.id, instrument="PHQ-9", score=14,
                            taken_on=dt.date(2026, 2, 2), recorded_by=world.clin_a1.id)
    page = c.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "5 points to go" in page
    card = c.send(f"/goals/{goal.id}/status", {"status": "in progress"}, htmx=True).get_data(as_text=True)
    assert "5 points to go" in card


def test_save_plan_as_template_leaves_client_details_out(world, plan_id, as_user):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    c.send(f"/goals/{goal.id}", {"title": "Ada walks to the park with Ada's sister", "measure": "walks",
                                 "baseline": "Ada walks once a month", "target": "3 a week",
                                 "version": goal.version}, htmx=True)
    form = c.get(f"/plans/{plan_id}/save-as-template").get_data(as_text=True)
    assert "Lovelace" not in form and "Ada walks" not in form and "{client_first_name} walks" in form
    source = re.search(r'<textarea id="source" name="source"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    assert "{client_first_name} walks" in source
    response = c.submit(f"/plans/{plan_id}/save-as-template", {"visibility": "practice"})
    assert response.status_code == 303
    with in_db():
        template = Template.select().order_by(Template.id.desc()).first()
        assert template.visibility == "practice" and template.owner_id == world.clin_a1.id
        saved = TemplateVersion.get(TemplateVersion.template == template.id).source
        assert "Ada" not in saved and "Lovelace" not in saved and "once a month" not in saved
    assert as_user(world.clin_b).get(f"/plans/{plan_id}/save-as-template").status_code == 404


def test_client_page_query_count_is_fixed(world, depression, as_user):
    """The client page gathers every area's section in at most 10 queries, with or without a
    plan, whatever the size of the plan."""
    c = as_user(world.clin_a1)
    counts = []
    for step in ("no plan", "plan", "bigger plan"):
        if step == "plan":
            start_plan(c, world.client_a1, depression)
        elif step == "bigger plan":
            _add_goals(first_goal_plan(world.client_a1), 10)
        c.get(f"/clients/{world.client_a1.id}")
        with count_queries() as counter:
            assert c.get(f"/clients/{world.client_a1.id}").status_code == 200
        counts.append(counter.count)
    assert max(counts) <= 10 and counts[1] == counts[2], counts


def first_goal_plan(client):
    with in_db():
        return Plan.get(Plan.client == client.id).id
