"""The whole homework loop in real Chromium: the clinician assigns homework and invites the
client; the client, in another browser context, sets a password, marks it done with feedback;
the clinician sees that feedback in the next session note."""
import datetime as dt

from tests.conftest import browser_login, in_db
from tests.test_notes import make_plan

CLIENT_PASSWORD = "my own portal passphrase"


def _watch_csp(page, problems):
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text else None)


def test_homework_feedback_travels_from_portal_to_next_note(live_server, browser_context, world):
    base = live_server.url
    client = world.client_a1
    _plan, (worry,) = make_plan(client, ("Worry less about work",), measure="GAD-7",
                                target="GAD-7 below 10")
    problems = []

    clinician = browser_context().new_page()
    _watch_csp(clinician, problems)
    browser_login(clinician, base, world.clin_a1.email)
    clinician.goto(f"{base}/clients/{client.id}/homework/new")
    clinician.fill("#text", "Write down three worries each evening")
    clinician.fill("#due_date", (dt.date.today() + dt.timedelta(days=7)).isoformat())
    clinician.select_option("#goal", str(worry.id))
    clinician.click("form.panel button[type=submit].primary")
    clinician.wait_for_url(f"**/clients/{client.id}#homework")
    assert clinician.is_visible("#homework >> text=Write down three worries each evening")

    # The invitation link appears in place (htmx) for the clinician to copy.
    clinician.evaluate("window.__marker = 1")
    clinician.fill("#portal-email", "ada@example.org")
    clinician.click("#portal form.inline-form button[type=submit]")
    link_box = clinician.wait_for_selector("#portal input.copy")
    link = link_box.get_attribute("value")
    assert "/portal/invitations/" in link and clinician.evaluate("window.__marker") == 1

    # The client, in a browser of their own.
    portal = browser_context().new_page()
    _watch_csp(portal, problems)
    portal.goto(link)
    portal.fill("#password", CLIENT_PASSWORD)
    portal.fill("#password_confirm", CLIENT_PASSWORD)
    portal.click("button[type=submit].primary")
    portal.wait_for_url(f"{base}/portal/")
    assert portal.is_visible("text=Worry less about work")
    card = portal.locator("article.homework-card", has_text="Write down three worries each evening")
    assert card.locator("text=simply sharing your experience next session is fine").is_visible()
    card.locator("textarea[name=feedback]").fill("Evenings were calmer after writing them down")
    card.locator("button[value=done]").click()
    portal.wait_for_selector("article.homework-card >> text=Thank you")
    portal.reload()
    done = portal.locator("article.homework-card", has_text="Write down three worries each evening")
    assert done.locator(".badge", has_text="Done").is_visible()
    # The portal reaches no clinician page.
    response = portal.goto(f"{base}/clients/{client.id}")
    assert response.status == 404

    # Back with the clinician: the next session note shows the feedback.
    clinician.goto(f"{base}/")
    assert clinician.is_visible(".attention >> text=Write down three worries each evening")
    clinician.goto(f"{base}/clients/{client.id}/notes/new")
    review = clinician.locator("#homework-review")
    assert review.locator("text=Evenings were calmer after writing them down").is_visible()
    assert review.locator(".badge", has_text="done").is_visible()
    clinician.fill("#goal-%d-rating" % worry.id, "6")
    clinician.click("button[type=submit].primary")
    clinician.wait_for_selector("h1:has-text('Session note')")
    assert clinician.is_visible("text=6/10")
    assert problems == []
    with in_db():
        from core.models import Homework
        assert Homework.get().feedback_seen is True
