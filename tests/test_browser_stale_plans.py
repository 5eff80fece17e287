"""Two clinicians on one goal in real headless Chromium: other fields merge without asking; the
same field shows the conflict view (every field), focused, and saving again keeps the
colleague's work in the fields not touched."""
import datetime as dt

from playwright.sync_api import expect

from core.models import CareTeamMember, Goal, Plan
from tests.conftest import browser_login, in_db


def test_goal_merge_and_conflict_in_the_browser(world, live_server, browser_context):
    with in_db():
        CareTeamMember.create(client=world.client_a1.id, user=world.clin_a2.id)
        plan = Plan.create(client=world.client_a1.id, title="Plan for Ada", status="active",
                           start_date=dt.date(2026, 1, 5))
        goal = Goal.create(plan=plan, position=0, title="Sleep seven hours",
                           description="On work nights", timeframe="8 weeks")
    card = f"#goal-{goal.id}"
    pages = []
    for user in (world.clin_a1, world.clin_a2):
        page = browser_context().new_page()
        browser_login(page, live_server.url, user.email)
        page.goto(f"{live_server.url}/plans/{plan.id}")
        page.click(f"{card} >> text=Edit")
        page.wait_for_selector(f"{card} form input[name=title]")
        pages.append(page)
    one, two = pages

    # Different fields: both saves land.
    one.fill(f"{card} input[name=title]", "Sleep seven hours a night")
    one.click(f"{card} button:has-text('Save goal')")
    one.wait_for_selector(f"{card} h3:has-text('Sleep seven hours a night')")
    two.fill(f"{card} input[name=timeframe]", "10 weeks")
    two.click(f"{card} button:has-text('Save goal')")
    two.wait_for_selector(f"{card} h3:has-text('Sleep seven hours a night')")
    with in_db():
        row = Goal.get_by_id(goal.id)
    assert (row.title, row.timeframe) == ("Sleep seven hours a night", "10 weeks")

    # The same field: refused, every field shown, focus on the conflict view.
    one.click(f"{card} >> text=Edit")
    two.click(f"{card} >> text=Edit")
    one.fill(f"{card} textarea[name=description]", "On work nights and weekends")
    one.click(f"{card} button:has-text('Save goal')")
    one.wait_for_selector(f"{card} p.pre:has-text('On work nights and weekends')")
    two.fill(f"{card} textarea[name=description]", "Except Fridays")
    two.fill(f"{card} input[name=measure]", "sleep diary")
    two.click(f"{card} button:has-text('Save goal')")
    two.wait_for_selector(f"{card} .conflict")
    view = two.inner_text(f"{card} .conflict")
    for label in ("Goal", "Specifically", "Measure", "Baseline", "Target", "Timeframe",
                  "Target date"):
        assert label in view
    assert "On work nights and weekends" in view and "differs" in view
    expect(two.locator(f"{card} .conflict")).to_be_focused()  # at htmx's settle step
    assert two.input_value(f"{card} textarea[name=description]") == "Except Fridays"
    with in_db():
        assert Goal.get_by_id(goal.id).measure == ""      # nothing of the refused save written
    two.click(f"{card} button:has-text('Save goal')")
    two.wait_for_selector(f"{card} p.pre:has-text('Except Fridays')")
    with in_db():
        row = Goal.get_by_id(goal.id)
    assert (row.description, row.measure, row.title) == (
        "Except Fridays", "sleep diary", "Sleep seven hours a night")
