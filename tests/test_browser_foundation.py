"""First run, sign-in, a new client and the list, in real headless Chromium."""
from tests.conftest import PASSWORD


def test_first_run_login_create_client_and_list(live_server, page, browser_context):
    base = live_server.url
    page.goto(base + "/")
    assert page.url.endswith("/setup")
    page.fill("#practice_name", "Harbour Counselling")
    page.fill("#name", "Rae Admin")
    page.fill("#email", "rae@example.org")
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/")
    page.click("form.signout button")
    page.wait_for_url("**/login")

    page.fill("#email", "rae@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/")
    page.click("text=New client")
    page.fill("#first_name", "Jordan")
    page.fill("#last_name", "Rivers")
    page.fill("#presenting_problem", "anxiety")
    page.click("button[type=submit].primary")
    page.wait_for_selector("h1:has-text('Jordan Rivers')")
    page.goto(base + "/clients")
    assert page.is_visible("text=Rivers, Jordan")

    # Search as you type swaps only the rows (htmx), no page load.
    page.evaluate("window.__marker = 1")
    page.fill("#client-search", "zzz")
    page.wait_for_selector("text=No clients match.")
    page.fill("#client-search", "riv")
    page.wait_for_selector("text=Rivers, Jordan")
    assert page.evaluate("window.__marker") == 1

    # An expired session on an htmx request goes to the login page, not into the fragment.
    context = page.context
    context.clear_cookies()
    page.fill("#client-search", "jor")
    page.wait_for_url("**/login?next=/clients**")
    assert page.is_visible("h1:has-text('Sign in')")
