"""A stale portal card in real Chromium: the client answers in two tabs; the second tab's card
is swapped in place (409) with both notes side by side, the note kept and focused, and saving
again from it keeps the second note."""
from playwright.sync_api import expect

from core.models import Homework
from tests.conftest import in_db
from tests.test_portal import PORTAL_PASSWORD, portal_user  # noqa: F401  (fixture)


def test_portal_card_in_two_tabs(live_server, browser_context, portal_user):  # noqa: F811
    base, hw_id = live_server.url, portal_user.homework_id
    context = browser_context()
    first = context.new_page()
    first.goto(f"{base}/portal/login")
    first.fill("#email", "ada@example.org")
    first.fill("#password", PORTAL_PASSWORD)
    first.click("button[type=submit].primary")
    first.wait_for_url(f"{base}/portal/")
    second = context.new_page()
    second.goto(f"{base}/portal/")
    card = f"#homework-{hw_id}"

    first.fill(f"{card} textarea[name=feedback]", "Written in the first tab")
    first.click(f"{card} button[value=done]")
    first.wait_for_selector(f"{card} >> text=Thank you")

    second.fill(f"{card} textarea[name=feedback]", "Written in the second tab")
    second.click(f"{card} button[value=done]")
    second.wait_for_selector(f"{card} .conflict-fields")
    assert second.locator(f"{card} tr.differs", has_text="Your note").is_visible()
    assert second.locator(f"{card} td", has_text="Written in the first tab").is_visible()
    expect(second.locator(f"{card} textarea[name=feedback]")).to_be_focused()  # at settle
    assert second.input_value(f"{card} textarea[name=feedback]") == "Written in the second tab"
    with in_db():
        assert Homework.get_by_id(hw_id).feedback == "Written in the first tab"

    second.click(f"{card} button[value=done]")
    second.wait_for_selector(f"{card} >> text=Thank you")
    with in_db():
        assert Homework.get_by_id(hw_id).feedback == "Written in the second tab"
