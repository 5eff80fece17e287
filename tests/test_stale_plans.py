"""Two clinicians editing one plan: a stale save of other fields is merged without asking, the
same field changed by both is refused (409, nothing written, input kept, every field shown),
and saving the refused form again keeps the colleague's work in the fields never touched."""
import datetime as dt
import re

import pytest

from core.models import CareTeamMember, Goal, Intervention, Objective, Plan, Revision
from tests.conftest import in_db, parse_forms, pick_form

GOAL_LABELS = ("Goal", "Specifically", "Measure", "Baseline", "Target", "Timeframe", "Target date")


@pytest.fixture
def shared(world, as_user):
    """A plan of client_a1 with one full goal, an objective and an intervention, and two
    clinicians of its care team, each signed in."""
    with in_db():
        CareTeamMember.create(client=world.client_a1.id, user=world.clin_a2.id)
        plan = Plan.create(client=world.client_a1.id, title="Plan for Ada", problem="Low mood",
                           status="active", start_date=dt.date(2026, 1, 5),
                           review_date=dt.date(2026, 2, 2))
        goal = Goal.create(plan=plan, position=0, title="Return to weekly football",
                           description="Play one full match", measure="PHQ-9", baseline="18",
                           target="below 10", timeframe="12 weeks",
                           target_date=dt.date(2026, 3, 30))
        objective = Objective.create(goal=goal, position=0, text="List three pleasant activities")
        intervention = Intervention.create(goal=goal, position=0, text="Activity scheduling")
    return plan, goal, objective, intervention, as_user(world.clin_a1), as_user(world.clin_a2)


def open_form(c, url, action=None):
    """The edit form as the page hands it out (an htmx fragment)."""
    page = c.hx_get(url)
    assert page.status_code == 200, url
    return pick_form(parse_forms(page.get_data(as_text=True)), action, url)


def save(c, form, changes):
    """Post exactly that form's fields with `changes`, as htmx does (token in the header)."""
    return c.http.post(form.action, data=form.values(changes),
                       headers={"HX-Request": "true", "X-CSRFToken": c.csrf_token()})


def reopen(c, response, action):
    """The form a 409 response carries, to be saved again."""
    return pick_form(parse_forms(response.get_data(as_text=True)), action, action)


def revisions(entity, entity_id):
    with in_db():
        return sorted((r.field, r.new_value) for r in Revision.select().where(
            (Revision.entity == entity) & (Revision.entity_id == entity_id)))


def conflict_rows(body):
    """{label: marked as differing} for the conflict view's table."""
    return {label.strip(): "differs" in badge for label, badge in re.findall(
        r'<th scope="row">([^<]+)(<span class="badge">differs</span>)?</th>', body)}


# --- goals ------------------------------------------------------------------------------------

def test_goal_saves_of_different_fields_are_merged_and_revisions_name_only_what_was_written(
        shared):
    _plan, goal, _o, _i, one, two = shared
    url = f"/goals/{goal.id}"
    mine, theirs = open_form(one, url + "/edit"), open_form(two, url + "/edit")
    assert save(one, mine, {"title": "Return to weekly football with friends"}).status_code == 200
    merged = save(two, theirs, {"description": "Play one full match, then a second"})
    assert merged.status_code == 200, merged.get_data(as_text=True)[:600]
    with in_db():
        row = Goal.get_by_id(goal.id)
    assert row.title == "Return to weekly football with friends"       # the colleague's title
    assert row.description == "Play one full match, then a second"     # and my description
    assert row.measure == "PHQ-9" and row.target_date == dt.date(2026, 3, 30)
    assert row.version == goal.version + 2
    assert revisions("goal", goal.id) == [
        ("description", "Play one full match, then a second"),
        ("title", "Return to weekly football with friends")]


def test_goal_clash_is_refused_with_every_field_shown_and_saving_again_keeps_their_other_work(
        shared):
    _plan, goal, _o, _i, one, two = shared
    url = f"/goals/{goal.id}"
    mine, theirs = open_form(one, url + "/edit"), open_form(two, url + "/edit")
    first = save(one, mine, {"title": "Football with friends", "timeframe": "16 weeks"})
    assert first.status_code == 200
    clash = save(two, theirs, {"title": "Football every Sunday", "measure": "BDI-II"})
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409
    with in_db():
        row = Goal.get_by_id(goal.id)
    assert (row.title, row.measure, row.timeframe) == ("Football with friends", "PHQ-9", "16 weeks")
    assert revisions("goal", goal.id) == [("timeframe", "16 weeks"),
                                          ("title", "Football with friends")]
    rows = conflict_rows(body)
    assert set(GOAL_LABELS) <= set(rows), rows                  # every field, not only some
    assert rows["Goal"] and not rows["Measure"] and not rows["Timeframe"]
    assert "Play one full match" in body and "2026-03-30" in body and "16 weeks" in body
    again = reopen(two, clash, url)
    # My input is kept; the field I never touched now holds the colleague's value.
    assert dict(again.fields)["title"] == "Football every Sunday"
    assert dict(again.fields)["measure"] == "BDI-II"
    assert dict(again.fields)["timeframe"] == "16 weeks"
    assert dict(again.fields)["version"] == str(row.version)
    assert save(two, again, {}).status_code == 200
    with in_db():
        row = Goal.get_by_id(goal.id)
    assert (row.title, row.measure, row.timeframe) == ("Football every Sunday", "BDI-II", "16 weeks")


def test_goal_form_without_javascript_merges_too(shared):
    _plan, goal, _o, _i, one, two = shared
    edit = f"/goals/{goal.id}/edit"
    # The plain page is opened by both before either saves: submit() reads it at once, so the
    # colleague's save happens through a form opened earlier (an htmx fragment).
    early = open_form(one, edit)
    response = two.submit(edit, {"baseline": "17"})
    assert response.status_code == 303
    assert save(one, early, {"target": "below 8"}).status_code == 200
    with in_db():
        row = Goal.get_by_id(goal.id)
    assert (row.baseline, row.target) == ("17", "below 8")


# --- objectives and interventions -------------------------------------------------------------

def test_objective_merge_and_clash(shared):
    _plan, _goal, objective, _i, one, two = shared
    url = f"/objectives/{objective.id}"
    mine, theirs = open_form(one, url + "/edit"), open_form(two, url + "/edit")
    assert save(one, mine, {"status": "in progress"}).status_code == 200
    assert save(two, theirs, {"target_date": "2026-02-20"}).status_code == 200
    with in_db():
        row = Objective.get_by_id(objective.id)
    assert (row.status, row.target_date) == ("in progress", dt.date(2026, 2, 20))
    assert revisions("objective", objective.id) == [("status", "in progress"),
                                                    ("target_date", "2026-02-20")]

    mine, theirs = open_form(one, url + "/edit"), open_form(two, url + "/edit")
    assert save(one, mine, {"text": "List five pleasant activities"}).status_code == 200
    clash = save(two, theirs, {"text": "List two pleasant activities", "status": "achieved"})
    assert clash.status_code == 409
    rows = conflict_rows(clash.get_data(as_text=True))
    assert rows == {"Objective": True, "By": False, "Status": False}
    with in_db():
        row = Objective.get_by_id(objective.id)
    assert (row.text, row.status) == ("List five pleasant activities", "in progress")
    assert save(two, reopen(two, clash, url), {}).status_code == 200
    with in_db():
        row = Objective.get_by_id(objective.id)
    assert (row.text, row.status) == ("List two pleasant activities", "achieved")


def test_intervention_clash_is_refused_and_input_kept(shared):
    _plan, _goal, _o, intervention, one, two = shared
    url = f"/interventions/{intervention.id}"
    mine, theirs = open_form(one, url + "/edit"), open_form(two, url + "/edit")
    assert save(one, mine, {"text": "Activity scheduling, twice a week"}).status_code == 200
    clash = save(two, theirs, {"text": "Behavioural experiments"})
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409 and 'class="differs"' in body
    assert ">Behavioural experiments</textarea>" in body or 'value="Behavioural experiments"' in body
    assert "Activity scheduling, twice a week" in body
    with in_db():
        assert Intervention.get_by_id(intervention.id).text == "Activity scheduling, twice a week"
    assert revisions("intervention", intervention.id) == [
        ("text", "Activity scheduling, twice a week")]


# --- the plan's own form ------------------------------------------------------------------------

def test_plan_form_merges_other_fields_and_refuses_a_clash(shared):
    plan, _g, _o, _i, one, two = shared
    url, edit = f"/plans/{plan.id}", f"/plans/{plan.id}/edit"
    mine, theirs = open_form(one, edit, url), open_form(two, edit, url)
    assert save(one, mine, {"title": "Ada's plan for spring"}).status_code == 200
    assert save(two, theirs, {"review_date": "2026-02-16"}).status_code == 200
    with in_db():
        row = Plan.get_by_id(plan.id)
    assert (row.title, row.problem, row.review_date) == ("Ada's plan for spring", "Low mood",
                                                         dt.date(2026, 2, 16))
    assert revisions("plan", plan.id) == [("review_date", "2026-02-16"),
                                          ("title", "Ada's plan for spring")]

    mine, theirs = open_form(one, edit, url), open_form(two, edit, url)
    assert save(one, mine, {"problem": "Low mood since the move",
                            "start_date": "2026-01-06"}).status_code == 200
    clash = save(two, theirs, {"problem": "Low mood and poor sleep"})
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409
    assert conflict_rows(body) == {"Plan title": False, "Problem statement": True,
                                   "Start date": False, "Review date": False}
    with in_db():
        assert Plan.get_by_id(plan.id).problem == "Low mood since the move"
    assert save(two, reopen(two, clash, url), {}).status_code == 200
    with in_db():
        row = Plan.get_by_id(plan.id)
    assert (row.problem, row.start_date) == ("Low mood and poor sleep", dt.date(2026, 1, 6))


def test_a_form_with_errors_keeps_the_version_it_was_opened_from(shared):
    """A 422 must not quietly move the form onto the newest version: that would let the next
    save overwrite a colleague's change unseen."""
    _plan, goal, _o, _i, one, two = shared
    url = f"/goals/{goal.id}"
    mine, theirs = open_form(one, url + "/edit"), open_form(two, url + "/edit")
    assert save(one, mine, {"measure": "GAD-7"}).status_code == 200
    invalid = save(two, theirs, {"title": "", "measure": "BDI-II"})
    assert invalid.status_code == 422
    fixed = reopen(two, invalid, url)
    assert dict(fixed.fields)["version"] == str(goal.version)
    clash = save(two, fixed, {"title": "Football again"})
    assert clash.status_code == 409
    with in_db():
        assert Goal.get_by_id(goal.id).measure == "GAD-7"


def test_plan_form_without_javascript_shows_the_conflict_on_the_full_page(shared):
    plan, _g, _o, _i, one, two = shared
    url, edit = f"/plans/{plan.id}", f"/plans/{plan.id}/edit"
    page = two.http.get(edit)                         # the full page, no htmx
    stale = pick_form(parse_forms(page.get_data(as_text=True)), url, edit)
    assert one.submit(edit, {"title": "Spring plan"}, action=url).status_code == 303
    clash = two.http.post(url, data=stale.values({"title": "Autumn plan"}))
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409 and "<html" in body and "Spring plan" in body
    assert conflict_rows(body)["Plan title"] is True
    again = pick_form(parse_forms(body), url, url)
    assert two.http.post(url, data=again.values({})).status_code == 303
    with in_db():
        assert Plan.get_by_id(plan.id).title == "Autumn plan"


def test_a_status_click_from_a_stale_card_never_replaces_a_status_not_seen(shared):
    """Status buttons are one click: the card says which status it showed (base-status). A
    colleague set another one meanwhile: the click is refused, the card shows the new status."""
    _plan, goal, _objective, _intervention, a, b = shared
    status_url = f"/goals/{goal.id}/status"
    card_a = open_form(a, f"/goals/{goal.id}", status_url)
    card_b = open_form(b, f"/goals/{goal.id}", status_url)
    assert card_b.values({})["base-status"] == "not started"
    assert save(a, card_a, {"status": "achieved"}).status_code == 200
    refused = save(b, card_b, {"status": "discontinued"})
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "set this goal to “achieved” meanwhile" in body and 'aria-pressed="true">achieved' in body
    with in_db():
        assert Goal.get_by_id(goal.id).status == "achieved"
    # The refreshed card carries the status it now shows: choosing again goes through.
    again = reopen(b, refused, status_url)
    assert save(b, again, {"status": "discontinued"}).status_code == 200
    with in_db():
        assert Goal.get_by_id(goal.id).status == "discontinued"


def test_a_status_click_agreeing_with_a_colleague_is_no_conflict(shared):
    _plan, goal, _objective, _intervention, a, b = shared
    status_url = f"/goals/{goal.id}/status"
    card_a, card_b = (open_form(c, f"/goals/{goal.id}", status_url) for c in (a, b))
    assert save(a, card_a, {"status": "achieved"}).status_code == 200
    assert save(b, card_b, {"status": "achieved"}).status_code == 200


def test_a_plan_status_click_from_a_stale_page_is_refused(shared):
    plan, _goal, _objective, _intervention, a, b = shared
    status_url = f"/plans/{plan.id}/status"
    bar_a, bar_b = (pick_form(parse_forms(c.get(f"/plans/{plan.id}").get_data(as_text=True)),
                              status_url, f"/plans/{plan.id}") for c in (a, b))
    assert a.http.post(status_url, data=bar_a.values({"status": "completed"})).status_code == 303
    refused = b.http.post(status_url, data=bar_b.values({"status": "archived"}))
    assert refused.status_code == 409
    assert "set this plan to “completed” meanwhile" in refused.get_data(as_text=True)
    with in_db():
        assert Plan.get_by_id(plan.id).status == "completed"
