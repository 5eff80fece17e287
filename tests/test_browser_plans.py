"""Plans in real headless Chromium: template to plan, inline edits, errors, undo, conflicts."""
from core.models import CareTeamMember, Client, Goal
from tests.conftest import browser_login, in_db
from tests.test_plans import make_template


def test_plan_from_template_inline_edit_validation_undo_and_conflict(world, live_server, browser_context):
    base = live_server.url
    with in_db():
        Client.update(presenting_problem="depression").where(Client.id == world.client_a1.id).execute()
        CareTeamMember.create(client=world.client_a1.id, user=world.clin_a2.id)
    template = make_template(world.admin_a)

    page = browser_context().new_page()
    browser_login(page, base, world.clin_a1.email)
    page.goto(f"{base}/clients/{world.client_a1.id}")
    page.click(f"a[href$='plans/new?template={template.id}']")
    page.wait_for_selector("text=Create the active plan")
    page.click("text=Create the active plan")
    page.wait_for_url("**/plans/*")
    with in_db():
        goal = Goal.select().order_by(Goal.position).first()
    card = f"#goal-{goal.id}"

    # Inline edit: the card swaps to its form and back, with no page load.
    page.evaluate("window.__stayed = true")
    page.click(f"{card} >> text=Edit")
    page.wait_for_selector(f"{card} form input[name=title]")
    page.fill(f"{card} input[name=title]", "Lift mood enough to enjoy weekends again")
    page.click(f"{card} button:has-text('Save goal')")
    page.wait_for_selector(f"{card} h3:has-text('Lift mood enough to enjoy weekends again')")
    assert page.evaluate("window.__stayed") is True

    # A validation error stays inside the form with the input kept.
    page.click(f"{card} >> text=Edit")
    page.fill(f"{card} input[name=title]", "")
    page.fill(f"{card} input[name=measure]", "kept measure")
    page.evaluate(f"document.querySelector('{card} input[name=title]').removeAttribute('required')")
    page.click(f"{card} button:has-text('Save goal')")
    page.wait_for_selector(f"{card} >> text=A goal needs a title.")
    assert page.input_value(f"{card} input[name=measure]") == "kept measure"
    page.click(f"{card} >> text=Cancel")
    page.wait_for_selector(f"{card} h3")

    # Remove, then Undo brings the goal back.
    page.click(f"{card} button:has-text('Remove')")
    page.wait_for_selector(f"{card} >> text=removed")
    page.click(f"{card} button:has-text('Undo')")
    page.wait_for_selector(f"{card} h3:has-text('Lift mood enough')")
    assert page.evaluate("window.__stayed") is True

    # Two colleagues edit the same goal: the later save is refused with both versions shown.
    other = browser_context().new_page()
    browser_login(other, base, world.clin_a2.email)
    other.goto(page.url)
    page.click(f"{card} >> text=Edit")
    other.click(f"{card} >> text=Edit")
    page.fill(f"{card} input[name=title]", "Version saved by the first clinician")
    page.click(f"{card} button:has-text('Save goal')")
    page.wait_for_selector(f"{card} h3:has-text('Version saved by the first clinician')")
    other.fill(f"{card} input[name=title]", "Version typed by the second clinician")
    other.click(f"{card} button:has-text('Save goal')")
    other.wait_for_selector(f"{card} .conflict")
    assert "Version saved by the first clinician" in other.inner_text(f"{card} .conflict")
    assert other.input_value(f"{card} input[name=title]") == "Version typed by the second clinician"
    # The second clinician decides to keep theirs: saving again now overwrites on purpose.
    other.click(f"{card} button:has-text('Save goal')")
    other.wait_for_selector(f"{card} h3:has-text('Version typed by the second clinician')")
    with in_db():
        assert Goal.get_by_id(goal.id).title == "Version typed by the second clinician"
