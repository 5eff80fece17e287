"""The plan page's cached body (blueprints/plans/page_cache.py) never shows a stale plan.

Each change below is written straight to the database, past every route, so only the triggers
of core/triggers.py can tell the cache; the page must then equal a render without a cache.
"""
import datetime as dt
import re

import pytest

from blueprints.plans.page_cache import RenderedCache
from core.db import utcnow
from core.models import (Agreement, Client, Goal, HomeworkSuggestion, Intervention, MeasureScore,
                         Objective, Plan)
from tests.conftest import count_queries, in_db
from tests.test_plans import depression, first_goal, plan_id  # noqa: F401  (fixtures)

_TOKENS = re.compile(r'(name="csrf_token" value=")[^"]+"|("X-CSRFToken": ")[^"]+"')


def view(c, plan_id):
    response = c.get(f"/plans/{plan_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def without_tokens(html):
    return _TOKENS.sub(lambda m: (m.group(1) or m.group(2)) + 'T"', html)


def uncached(app, c, plan_id):
    app.extensions["plan_page_cache"] = RenderedCache()
    return view(c, plan_id)


def _goal_title(plan_id):
    Goal.update(title="Marker goal title").where(Goal.id == first_goal(plan_id).id).execute()


def _objective_text(plan_id):
    Objective.update(text="Marker objective").where(
        Objective.goal == first_goal(plan_id).id).execute()


def _objective_deleted(plan_id):
    Objective.delete().where(Objective.goal == first_goal(plan_id).id).execute()


def _intervention_text(plan_id):
    Intervention.update(text="Marker intervention").where(
        Intervention.goal == first_goal(plan_id).id).execute()


def _suggestion_added(plan_id):
    HomeworkSuggestion.create(goal=first_goal(plan_id).id, text="Marker homework idea")


def _goal_removed(plan_id):
    Goal.update(deleted_at=utcnow()).where(Goal.id == first_goal(plan_id).id).execute()


def _agreement(plan_id):
    Agreement.create(plan=plan_id, client_name="Marker Agreed", agreed_on=dt.date.today(),
                     plan_version=1)


def _score(plan_id):
    plan = Plan.get_by_id(plan_id)
    MeasureScore.create(client=plan.client_id, instrument="PHQ-9", score=3,
                        taken_on=dt.date.today())


def _client_renamed(plan_id):
    Client.update(first_name="Markerina").where(
        Client.id == Plan.get_by_id(plan_id).client_id).execute()


def _plan_problem(plan_id):
    Plan.update(problem="Marker problem statement").where(Plan.id == plan_id).execute()


@pytest.mark.parametrize("change", [
    _goal_title, _objective_text, _objective_deleted, _intervention_text, _suggestion_added,
    _goal_removed, _agreement, _score, _client_renamed, _plan_problem])
def test_a_change_written_past_the_app_still_reaches_the_cached_page(
        app, world, as_user, plan_id, change):
    c = as_user(world.clin_a1)
    view(c, plan_id)
    before = view(c, plan_id)  # from the cache now
    with in_db():
        change(plan_id)
    after = view(c, plan_id)
    assert without_tokens(after) != without_tokens(before), "the change did not show"
    assert without_tokens(after) == without_tokens(uncached(app, c, plan_id))


def test_second_view_comes_from_the_cache(world, as_user, plan_id):
    c = as_user(world.clin_a1)
    view(c, plan_id)
    with count_queries() as hit:
        response = c.get(f"/plans/{plan_id}")  # cached by the view above
    assert response.status_code == 200
    # the session, the scoped plan with its counter, the view's audit event
    assert hit.count <= 4, hit.statements


def test_each_viewer_gets_their_own_csrf_token_in_the_cached_page(app, world, as_user, plan_id):
    pages = {}
    for user in (world.clin_a1, world.admin_a):
        c = as_user(user)
        html = view(c, plan_id)
        tokens = {a or b for a, b in re.findall(
            r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"', html)}
        assert len(tokens) == 1, tokens         # the forms carry the viewer's header token
        assert "csrf-placeholder" not in html
        pages[user.email] = (c, tokens.pop())
    (c1, t1), (c2, t2) = pages.values()
    assert t1 != t2
    # the admin's plain form (no JavaScript) posts with the token from the cached page
    response = c2.http.post(f"/plans/{plan_id}/status", data={"status": "archived",
                                                             "csrf_token": t2})
    assert response.status_code in (200, 303), response.status_code
    with in_db():
        assert Plan.get_by_id(plan_id).status == "archived"
    assert 'value="archived" class="small current"' in view(c1, plan_id)


def test_the_cache_stays_within_its_bound():
    cache = RenderedCache(max_bytes=100)
    for i in range(10):
        cache.put(i, "x" * 30)
    assert cache.size <= 100 and cache.get(9) and cache.get(0) is None
    cache.put("big", "x" * 101)
    assert cache.get("big") is None
