"""Rules of the plan that a careless change could break silently: section HTML is sanitised
before it is stored, a new note carries in the newest progress, and "no progress for N notes"
starts exactly at N, the same in the note form (Python) and the dashboard (SQL)."""
import re

import pytest

from core import progress
from core.models import Client, Goal, Plan, Template, TemplateVersion
from core.rendering import render_template_html
from core.template_format import parse_template
from tests.conftest import in_db
from tests.test_notes import make_plan, write_note

HOSTILE_TEMPLATE = """---
title: Worry plan
problem: anxiety
---

## Problem

{client_first_name} worries most evenings.

## Goal: Worry less in the evenings

- Measure: GAD-7
- Target: GAD-7 below 8
- Timeframe: 8 weeks

## Safety notes

Call {client_first_name} back the same day. <script>alert('section')</script>

<img src="x" onerror="alert('img')"> [details](javascript:alert('link'))

<a href="https://example.org" onclick="alert('click')">crisis line</a>
"""
DANGEROUS = re.compile(r"<script|onerror|onclick|javascript:", re.I)


def test_plan_sections_are_sanitised_when_saved(world, as_user):
    """The section's HTML is made once, when the plan is made, and shown with |safe: what is
    stored must already be clean (the client's name included: it is filled in first)."""
    client = world.client_a1
    with in_db():
        Client.update(first_name='Ada <img src=y onerror="alert(1)">').where(
            Client.id == client.id).execute()
        template = Template.create(owner=world.admin_a.id, practice=world.admin_a.practice_id,
                                   visibility="practice", title="Worry plan", problem="anxiety")
        TemplateVersion.create(template=template, number=1, source=HOSTILE_TEMPLATE,
                               html=render_template_html(parse_template(HOSTILE_TEMPLATE)))
    c = as_user(world.clin_a1)
    created = c.submit(f"/clients/{client.id}/plans/new?template={template.id}",
                       action=f"/clients/{client.id}/plans")
    assert created.status_code == 303, created.get_data(as_text=True)[:600]
    with in_db():
        plan = Plan.get(Plan.client == client.id)
    (section,) = plan.sections
    assert section["title"] == "Safety notes"
    assert "Call Ada" in section["html"] and "crisis line" in section["html"]
    assert not DANGEROUS.search(section["html"]), section["html"]
    page = c.get(f"/plans/{plan.id}").get_data(as_text=True)
    shown = page[page.index("Safety notes"):page.index('id="agreement"')]
    assert "crisis line" in shown and not DANGEROUS.search(shown), shown


def _rating_note(c, client, goal, rating):
    return write_note(c, client, [goal], **{f"goal-{goal.id}-rating": str(rating)})


def test_new_note_carries_in_the_newest_progress_even_after_an_older_note_is_edited(
        world, as_user):
    client = world.client_a1
    _plan, (worry,) = make_plan(client, ("Reduce worry",))
    c = as_user(world.clin_a1)
    older = _rating_note(c, client, worry, 3)
    _rating_note(c, client, worry, 7)

    def carried():
        form = c.get(f"/clients/{client.id}/notes/new").get_data(as_text=True)
        return re.search(r"rating <strong>(\d+)/10</strong>", form).group(1)

    assert carried() == "7"
    # Editing the older note writes its entries again (new ids): it is still the older one.
    edited = c.submit(f"/notes/{older}/edit", {f"goal-{worry.id}-rating": "4"})
    assert edited.status_code == 303, edited.get_data(as_text=True)[:600]
    assert carried() == "7"
    with in_db():
        assert progress.last_entries([worry.id])[worry.id].rating == 7


def _flags(client, goal):
    """(the note form's count and flag, the dashboard query's count or None) for the goal."""
    with in_db():
        row = Client.get_by_id(client.id)
        carried = {item.goal.id: item for item in progress.carry_forward(row).goals}[goal.id]
        sql = progress.goals_without_progress(Client.id == client.id).get(goal.id)
    return carried.notes_without_progress, carried.is_stale, sql.notes_since if sql else None


def test_no_progress_flag_starts_at_exactly_n_notes_in_python_and_sql(world, as_user):
    n = progress.STALE_AFTER
    client = world.client_a1
    _plan, (worry, sleep) = make_plan(client, ("Reduce worry", "Sleep through the night"))
    c = as_user(world.clin_a1)
    write_note(c, client, [worry, sleep])
    assert _flags(client, sleep) == (0, False, None)
    for without in range(1, n + 2):               # N-1, N and N+1 notes without progress
        write_note(c, client, [worry], confirm_missing="1")
        count, stale, sql = _flags(client, sleep)
        assert count == without
        assert stale is (without >= n)
        assert sql == (without if without >= n else None)
        form = c.get(f"/clients/{client.id}/notes/new").get_data(as_text=True)
        assert (f"no progress for {without} notes" in form) is (without >= n)
        dashboard = c.get("/").get_data(as_text=True)
        assert (f"no progress in the last {without} notes" in dashboard) is (without >= n)
    assert _flags(client, worry) == (0, False, None)
    # A goal closed meanwhile is flagged by neither.
    with in_db():
        Goal.update(status="achieved").where(Goal.id == sleep.id).execute()
    assert _flags(client, sleep)[1:] == (False, None)


@pytest.mark.parametrize("edit_older", [False, True])
def test_python_and_sql_count_from_the_same_note(world, as_user, edit_older):
    """An older note edited after a newer one was written: both count from the newest note
    with progress (before the fix the form counted from the edited older note: one more)."""
    client = world.client_a1
    _plan, (worry, sleep) = make_plan(client, ("Reduce worry", "Sleep through the night"))
    c = as_user(world.clin_a1)
    older = write_note(c, client, [worry, sleep])
    write_note(c, client, [worry, sleep])
    if edit_older:
        assert c.submit(f"/notes/{older}/edit", {f"goal-{sleep.id}-rating": "6"}).status_code == 303
    for _ in range(progress.STALE_AFTER):
        write_note(c, client, [worry], confirm_missing="1")
    count, stale, sql = _flags(client, sleep)
    assert count == sql == progress.STALE_AFTER and stale
