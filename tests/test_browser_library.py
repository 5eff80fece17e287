"""The library in real headless Chromium: search as you type, fork the alcohol-misuse starter
template, edit it with the live preview, see the diff against upstream, and share it with a
colleague."""
import re

from playwright.sync_api import expect

from core.library import load_starter_library
from core.models import Template
from tests.conftest import browser_login, in_db


def test_search_fork_edit_with_preview_diff_and_share(world, live_server, page, browser_context):
    with in_db():
        load_starter_library()
    base = live_server.url
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    browser_login(page, base, world.clin_a1.email)

    # Search as you type: only the results are swapped, and the URL follows the search.
    page.goto(base + "/library")
    assert page.locator(".template-card").count() == 11
    page.evaluate("window.__marker = 1")
    page.type("#library-q", "sober", delay=40)
    expect(page.locator(".template-card")).to_have_count(1)
    assert page.is_visible(".template-card >> text=Alcohol misuse")
    page.wait_for_url(re.compile(r".*/library\?q=sober$"))
    page.fill("#library-q", "zzzzqx")
    page.wait_for_selector("text=No template matches")
    page.fill("#library-q", "sober")
    page.wait_for_selector(".template-card >> text=Alcohol misuse")
    assert page.evaluate("window.__marker") == 1  # never a full page load
    page.select_option("#library-sort", "newest")
    page.wait_for_url(re.compile(r".*/library\?q=sober&sort=newest$"))
    page.reload()  # the pushed URL is a real page
    assert page.input_value("#library-q") == "sober"
    assert page.locator(".template-card").count() == 1

    # Fork it.
    page.click(".template-card h3 a")
    page.wait_for_selector("h1:has-text('Alcohol misuse')")
    page.click("form[action$='/fork'] button")
    page.wait_for_selector("text=This is your own private copy")
    assert page.is_visible(".lineage >> text=Forked from")
    fork_url = page.url
    fork_id = int(fork_url.rstrip("/").rsplit("/", 1)[1])

    # Edit with the live preview: the preview follows the text, errors show with their line.
    page.click("a:has-text('Edit')")
    page.wait_for_selector("#preview .rendered")
    source = page.input_value("#source")
    edited = source.replace("### Homework\n\n", "### Homework\n\n- Call an old friend who does not drink\n", 1)
    assert edited != source
    page.fill("#source", edited)
    page.wait_for_selector("#preview >> text=Call an old friend who does not drink")
    page.fill("#source", edited.replace("## Goal:", "### Objectives\n\n- stray\n\n## Goal:", 1))
    page.wait_for_selector("#preview .format-errors >> text=Line")
    assert "before any" in page.inner_text("#preview")
    page.fill("#source", edited)
    page.wait_for_selector("#preview >> text=Call an old friend who does not drink")
    page.click("button:has-text('Save as version 2')")
    page.wait_for_selector("text=Saved as version 2.")
    assert page.is_visible(".template-body >> text=Call an old friend who does not drink")

    # The diff against upstream shows the new line as added.
    page.click(".lineage a:has-text('Compare with upstream')")
    page.wait_for_selector("h1:has-text('This fork against its upstream')")
    added = page.locator("pre.diff .add", has_text="Call an old friend who does not drink")
    assert added.count() == 1

    # Share it with the practice: a colleague finds it.
    page.goto(fork_url)
    page.check("input[name=visibility][value=practice]")
    page.click("button:has-text('Save sharing')")
    page.wait_for_selector("text=Everyone in your practice can see it now.")
    colleague = browser_context().new_page()
    browser_login(colleague, base, world.clin_a2.email)
    colleague.goto(base + "/library?scope=practice")
    colleague.wait_for_selector(f"#template-card-{fork_id}")
    assert colleague.locator(".template-card").count() == 1
    with in_db():
        fork = Template.get_by_id(fork_id)
        assert (fork.visibility, fork.current_version, fork.forked_from_version) == ("practice", 2, 1)
    assert not problems, problems
