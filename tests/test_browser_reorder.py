"""Reordering goals in real headless Chromium: ↑/↓ moves one card past its neighbour and redraws
nothing, so another goal's open edit form keeps its unsaved typing; focus stays on the moved
goal's arrows and the move is announced politely."""
import datetime as dt

from playwright.sync_api import expect

from core.models import Goal, Plan
from tests.conftest import browser_login, in_db, parse_forms, pick_form



def in_order(*goals):
    """A selector that matches only when the cards stand in this order (the page's CSP forbids
    the eval behind wait_for_function)."""
    return "#goal-list > " + " + ".join(f"#goal-{g.id}" for g in goals)


def announced(text):
    return f"#announce:text-is('{text}')"


def test_reorder_keeps_another_goals_open_form_and_focus(world, live_server, browser_context):
    with in_db():
        plan = Plan.create(client=world.client_a1.id, title="Plan for Ada", status="active",
                           start_date=dt.date(2026, 1, 5))
        one, two, three = (Goal.create(plan=plan, position=i, title=title) for i, title in
                           enumerate(("Sleep seven hours", "Walk every day", "Call a friend weekly")))
    card = {g.id: f"#goal-{g.id}" for g in (one, two, three)}

    page = browser_context().new_page()
    browser_login(page, live_server.url, world.clin_a1.email)
    page.goto(f"{live_server.url}/plans/{plan.id}")
    page.evaluate("window.__stayed = true")

    # Goal 2's editor is open with unsaved typing.
    page.click(f"{card[two.id]} >> text=Edit")
    page.wait_for_selector(f"{card[two.id]} form input[name=title]")
    page.fill(f"{card[two.id]} input[name=title]", "Walk every day, typed not saved")
    page.fill(f"{card[two.id]} textarea[name=description]", "Half an hour after lunch")

    # The first goal has no ↑ (nothing above it); ↓ moves it below goal 2.
    assert not page.is_visible(f"{card[one.id]} button.move-up")
    page.click(f"{card[one.id]} button.move-down")
    page.wait_for_selector(in_order(two, one, three), state="attached")
    page.wait_for_selector(announced("Goal moved down"), state="attached")
    assert page.input_value(f"{card[two.id]} input[name=title]") == "Walk every day, typed not saved"
    assert page.input_value(f"{card[two.id]} textarea[name=description]") == "Half an hour after lunch"
    expect(page.locator(f"{card[one.id]} button.move-down")).to_be_focused()
    with in_db():
        assert [g.id for g in Goal.select().where(Goal.plan == plan.id)
                .order_by(Goal.position)] == [two.id, one.id, three.id]

    # Back up: goal 1 is first again, its ↑ is hidden there, so focus goes to its ↓.
    page.click(f"{card[one.id]} button.move-up")
    page.wait_for_selector(in_order(one, two, three), state="attached")
    page.wait_for_selector(announced("Goal moved up"), state="attached")
    expect(page.locator(f"{card[one.id]} button.move-down")).to_be_focused()
    assert page.input_value(f"{card[two.id]} input[name=title]") == "Walk every day, typed not saved"

    # The open form still saves what was typed into it, and nothing reloaded the page.
    page.click(f"{card[two.id]} button:has-text('Save goal')")
    page.wait_for_selector(f"{card[two.id]} h3:has-text('Walk every day, typed not saved')")
    assert page.evaluate("window.__stayed") is True
    with in_db():
        assert Goal.get_by_id(two.id).description == "Half an hour after lunch"


def test_reorder_without_javascript_redirects_back_to_the_goal(world, as_user):
    with in_db():
        plan = Plan.create(client=world.client_a1.id, title="Plan for Ada", status="active",
                           start_date=dt.date(2026, 1, 5))
        first, second = (Goal.create(plan=plan, position=i, title=t)
                         for i, t in enumerate(("First goal", "Second goal")))
    c = as_user(world.clin_a1)
    # The ↓ button submits its card's action form to its own formaction, as a browser would.
    page = c.http.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert f'formaction="/goals/{first.id}/move"' in page
    form = pick_form(parse_forms(page), f"/goals/{first.id}/status", f"/plans/{plan.id}")
    response = c.http.post(f"/goals/{first.id}/move", data=form.values({"direction": "down"}))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/plans/{plan.id}#goal-{first.id}")
    with in_db():
        assert [g.id for g in Goal.select().where(Goal.plan == plan.id)
                .order_by(Goal.position)] == [second.id, first.id]
