"""Session notes: carry-forward, the missing-progress warning, locking and addenda, scope."""
import datetime as dt
import re

import pytest
from peewee import fn

from core import notes, progress
from core.db import utcnow
from core.models import (AuditEvent, Client, Goal, GoalProgress, Homework, NoteAddendum,
                         NoteTemplate, Objective, Plan, ProgressEntry, Revision, SessionNote)
from tests.conftest import count_queries, in_db

TODAY = dt.date.today().isoformat()


def make_plan(client, titles=("Reduce worry",), status="active", **goal_fields):
    """An active plan with one goal per title (direct model rows, as the plans area would make)."""
    with in_db():
        plan = Plan.create(client=client.id, title=f"Plan for {client.first_name}", status=status,
                           start_date=dt.date.today())
        goals = [Goal.create(plan=plan, position=i, title=title, status="in progress", **goal_fields)
                 for i, title in enumerate(titles)]
    return plan, goals


def note_form(goals=(), body="Discussed the week.", **extra):
    data = {"date": TODAY, "format": "DAP", "body": body}
    for goal in goals:
        data[f"goal-{goal.id}-rating"] = "5"
    data.update(extra)
    return data


def write_note(c, client, goals=(), **extra):
    """Fill in the new-note page's form; `confirm_missing` answers the question the page asks
    when a goal has no progress (the confirmation exists only on that answer)."""
    new, action = f"/clients/{client.id}/notes/new", f"/clients/{client.id}/notes"
    confirm = extra.pop("confirm_missing", None)
    response = c.submit(new, note_form(goals, **extra), action=action)
    if confirm and response.status_code == 422:
        response = c.submit(new, {"confirm_missing": confirm}, action=action, page=response)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_new_note_carries_every_active_goal_and_homework_since_last_note(world, as_user):
    client = world.client_a1
    plan, (worry, sleep) = make_plan(client, ("Reduce worry", "Sleep through the night"))
    _draft, (drafted,) = make_plan(client, ("A draft goal",), status="draft")
    with in_db():
        gone = Goal.create(plan=plan, position=9, title="A removed goal", deleted_at=utcnow())
        Objective.create(goal=worry, text="Name three worry triggers")
    c = as_user(world.clin_a1)
    first = write_note(c, client, [worry], **{f"goal-{worry.id}-comment": "Calmer mornings",
                                               "confirm_missing": "1"})
    with in_db():
        Homework.create(client=client.id, text="Old finished task", status="done",
                        completed_at=utcnow() - dt.timedelta(days=30),
                        created_at=utcnow() - dt.timedelta(days=40))
        SessionNote.update(created_at=utcnow() - dt.timedelta(days=7)).where(
            SessionNote.id == first).execute()
        Homework.create(client=client.id, text="Still open from before", status="assigned",
                        created_at=utcnow() - dt.timedelta(days=20))
        Homework.create(client=client.id, text="Keep a worry log", goal=worry, plan=plan,
                        status="done", completed_at=utcnow(), feedback="It helped on Tuesday",
                        feedback_at=utcnow())
        Homework.create(client=client.id, text="A removed task", deleted_at=utcnow())
        Homework.create(client=world.client_a2.id, text="Another client's task")

    page = c.get(f"/clients/{client.id}/notes/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for present in ("Reduce worry", "Sleep through the night", "Name three worry triggers",
                    "rating <strong>5/10</strong>", "Calmer mornings", "Still open from before",
                    "Keep a worry log", "It helped on Tuesday", "What did we agree to work on next?"):
        assert present in html, present
    for absent in ("A draft goal", "A removed goal", "Old finished task", "A removed task",
                   "Another client&#39;s task"):
        assert absent not in html, absent
    assert f'name="goal-{sleep.id}-rating"' in html and f'name="goal-{drafted.id}-rating"' not in html
    assert f'name="goal-{gone.id}-rating"' not in html
    with in_db():  # the clinician has now seen the client's feedback
        assert Homework.get(Homework.text == "Keep a worry log").feedback_seen is True


def test_formats_use_the_practice_templates_and_admins_edit_them(world, as_user):
    c = as_user(world.clin_a1)
    soap = c.get(f"/clients/{world.client_a1.id}/notes/new?format=SOAP").get_data(as_text=True)
    assert "## Subjective" in soap and "What did we agree to work on next?" in soap
    with in_db():
        assert NoteTemplate.select().where(NoteTemplate.practice == world.practice_a).count() == 3
    assert c.get("/admin/note-templates").status_code == 404
    assert c.forge("/admin/note-templates", {"DAP": "hacked"}).status_code == 404  # no page for them
    admin = as_user(world.admin_a)
    assert "What did we agree" in admin.get("/admin/note-templates").get_data(as_text=True)
    saved = admin.submit("/admin/note-templates", {"DAP": "## Data\n\n## Next steps\nOur agreement:",
                                                   "SOAP": notes.DEFAULT_TEMPLATES["SOAP"],
                                                   "free": "Free form"})
    assert saved.status_code == 303
    assert "Our agreement:" in c.get(f"/clients/{world.client_a1.id}/notes/new").get_data(as_text=True)
    # Practice B keeps its own defaults.
    other = as_user(world.clin_b).get(f"/clients/{world.client_b.id}/notes/new?format=DAP")
    assert "Our agreement:" not in other.get_data(as_text=True)


def test_goal_left_without_progress_asks_for_confirmation(world, as_user):
    client = world.client_a1
    _plan, (worry, sleep) = make_plan(client, ("Reduce worry", "Sleep through the night"))
    c = as_user(world.clin_a1)
    data = note_form([worry], body="Session about *worry* and a unique phrase 4711")
    refused = c.submit(f"/clients/{client.id}/notes/new", data, action=f"/clients/{client.id}/notes")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "unique phrase 4711" in html and 'name="confirm_missing"' in html
    assert f'href="#goal-{sleep.id}"' in html and 'value="5"' in html  # the form is kept
    with in_db():
        assert SessionNote.select().count() == 0 and ProgressEntry.select().count() == 0

    # "No change" is an entry; confirming saves without one.
    note_id = write_note(c, client, [worry], **{f"goal-{sleep.id}-no_change": "1"})
    second = write_note(c, client, [worry], confirm_missing="1")
    with in_db():
        first = {e.goal_id: e for e in ProgressEntry.select().where(ProgressEntry.note == note_id)}
        assert first[worry.id].rating == 5 and first[sleep.id].no_change is True
        assert [e.goal_id for e in ProgressEntry.select().where(ProgressEntry.note == second)] == [worry.id]


def test_closed_goals_need_no_progress_and_bad_ratings_are_refused(world, as_user):
    client = world.client_a1
    _plan, (worry, done) = make_plan(client, ("Reduce worry", "Finished goal"))
    with in_db():
        Goal.update(status="achieved").where(Goal.id == done.id).execute()
    c = as_user(world.clin_a1)
    bad = c.submit(f"/clients/{client.id}/notes/new", note_form([worry], **{f"goal-{worry.id}-rating": "11"}),
                   action=f"/clients/{client.id}/notes")
    assert bad.status_code == 422 and "from 0 to 10" in bad.get_data(as_text=True)
    write_note(c, client, [worry])  # the achieved goal is carried but not required


def test_status_change_in_a_note_updates_the_goal_and_keeps_a_revision(world, as_user):
    client = world.client_a1
    _plan, (worry,) = make_plan(client)
    c = as_user(world.clin_a1)
    write_note(c, client, [], **{f"goal-{worry.id}-status": "achieved"})
    with in_db():
        goal = Goal.get_by_id(worry.id)
        assert goal.status == "achieved" and goal.version == 2
        rev = Revision.get(Revision.entity_id == worry.id)
        assert (rev.entity, rev.field, rev.old_value, rev.new_value) == (
            "goal", "status", "in progress", "achieved")


def test_note_body_is_rendered_and_sanitized(world, as_user):
    c = as_user(world.clin_a1)
    note_id = write_note(c, world.client_a1, body="## Data\n**calm**<script>alert(1)</script>"
                                                   "[x](javascript:alert(2))")
    html = c.get(f"/notes/{note_id}").get_data(as_text=True)
    assert "<strong>calm</strong>" in html
    assert "<script>alert" not in html and "javascript:" not in html


def test_signed_note_is_locked_and_addenda_keep_author_and_time(world, as_user):
    client = world.client_a1
    _plan, (worry,) = make_plan(client)
    c = as_user(world.clin_a1)
    note_id = write_note(c, client, [worry], body="Original text")
    form = c.get(f"/notes/{note_id}/edit").get_data(as_text=True)
    assert "Original text" in form and f'name="goal-{worry.id}-rating" type="number"' in form
    assert 'value="5"' in form and "No progress recorded yet." in form  # not its own "last session"
    edited = c.submit(f"/notes/{note_id}/edit", note_form([worry], body="Edited before signing"),
                      action=f"/notes/{note_id}")
    assert edited.status_code == 303
    # Forged: an unsigned note offers no addendum form.
    assert c.forge(f"/notes/{note_id}/addenda", {"body": "too early"}).status_code == 422
    # Pages left open in other tabs while the note is signed.
    open_edit, open_detail = c.get(f"/notes/{note_id}/edit"), c.get(f"/notes/{note_id}")
    assert c.submit(f"/notes/{note_id}", action=f"/notes/{note_id}/sign").status_code == 303
    with in_db():
        before = SessionNote.get_by_id(note_id).__data__.copy()
        entries = list(ProgressEntry.select().where(ProgressEntry.note == note_id).dicts())
        assert before["signed_at"] is not None and before["body"] == "Edited before signing"

    locked = c.submit(f"/notes/{note_id}/edit", note_form([worry], body="Rewritten after signing"),
                      page=open_edit)
    assert locked.status_code == 409 and "signed and locked" in locked.get_data(as_text=True)
    assert c.get(f"/notes/{note_id}/edit").status_code == 409
    assert c.submit(f"/notes/{note_id}", action=f"/notes/{note_id}/sign",
                    page=open_detail).status_code == 409
    with in_db():
        assert SessionNote.get_by_id(note_id).__data__ == before
        assert list(ProgressEntry.select().where(ProgressEntry.note == note_id).dicts()) == entries

    addenda_url = f"/notes/{note_id}/addenda"
    assert c.submit(f"/notes/{note_id}", {"body": "Correction: *Tuesday*"},
                    action=addenda_url).status_code == 303
    supervisor = as_user(world.admin_a)
    assert supervisor.submit(f"/notes/{note_id}", {"body": "Reviewed"},
                             action=addenda_url).status_code == 303
    assert supervisor.submit(f"/notes/{note_id}", {"body": "  "},
                             action=addenda_url).status_code == 422
    with in_db():
        addenda = list(NoteAddendum.select().where(NoteAddendum.note == note_id).order_by(NoteAddendum.id))
        assert [(a.author_id, a.body_html) for a in addenda] == [
            (world.clin_a1.id, "<p>Correction: <em>Tuesday</em></p>"),
            (world.admin_a.id, "<p>Reviewed</p>")]
        assert all(a.at is not None for a in addenda)
        assert SessionNote.get_by_id(note_id).__data__ == before
    page = c.get(f"/notes/{note_id}").get_data(as_text=True)
    assert "Admin_A" in page and "Correction: <em>Tuesday</em>" in page


def test_only_the_author_changes_an_unsigned_note(world, as_user):
    c = as_user(world.clin_a1)
    note_id = write_note(c, world.client_a1, body="Mine")
    admin = as_user(world.admin_a)
    assert admin.get(f"/notes/{note_id}").status_code == 200  # supervision reads
    # Forged: a non-author is offered no edit form and no Sign button.
    refused = admin.forge(f"/notes/{note_id}", note_form(body="Theirs"))
    assert refused.status_code == 403 and "Only the clinician" in refused.get_data(as_text=True)
    assert admin.forge(f"/notes/{note_id}/sign").status_code == 403
    with in_db():
        note = SessionNote.get_by_id(note_id)
        assert note.body == "Mine" and note.signed_at is None


@pytest.mark.parametrize("who", ["clin_a2", "clin_b", "admin_b"])
def test_note_urls_outside_scope_are_404_unchanged_and_audited(world, as_user, who):
    client = world.client_a1
    _plan, (worry,) = make_plan(client)
    note_id = write_note(as_user(world.clin_a1), client, [worry], body="Private")
    with in_db():
        before = SessionNote.get_by_id(note_id).__data__.copy()
    c = as_user(getattr(world, who))
    attempts = [c.get(f"/notes/{note_id}"), c.get(f"/notes/{note_id}/edit"),
                # Forged posts: none of these pages is open to this user.
                c.forge(f"/notes/{note_id}", note_form(body="Hacked")),
                c.forge(f"/notes/{note_id}/sign"), c.forge(f"/notes/{note_id}/addenda", {"body": "x"}),
                c.send(f"/notes/{note_id}/sign", htmx=True),
                c.get(f"/clients/{client.id}/notes/new"), c.get(f"/clients/{client.id}/notes"),
                c.forge(f"/clients/{client.id}/notes", note_form([worry], body="Injected"))]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert all("Private" not in r.get_data(as_text=True) for r in attempts)
    with in_db():
        assert SessionNote.get_by_id(note_id).__data__ == before
        assert SessionNote.select().count() == 1 and NoteAddendum.select().count() == 0
        denied = AuditEvent.select().where((AuditEvent.action == "access.denied")
                                           & (AuditEvent.user == getattr(world, who).id)).count()
        assert denied == len(attempts)


def test_note_changes_are_audited_without_clinical_text(world, as_user):
    c = as_user(world.clin_a1)
    note_id = write_note(c, world.client_a1, body="Very private words")
    c.get(f"/notes/{note_id}")
    c.submit(f"/notes/{note_id}", action=f"/notes/{note_id}/sign")
    with in_db():
        actions = [e.action for e in AuditEvent.select().where(AuditEvent.target_type == "note")]
        assert {"note.create", "note.view", "note.sign"} <= set(actions)
        assert not AuditEvent.select().where(AuditEvent.detail.contains("private")).exists()


def test_goals_without_progress_are_flagged_on_client_page_and_dashboard(world, as_user):
    client = world.client_a1
    _plan, (worry, sleep) = make_plan(client, ("Reduce worry", "Sleep through the night"))
    c = as_user(world.clin_a1)
    write_note(c, client, [worry, sleep])
    write_note(c, client, [worry], confirm_missing="1")
    page = c.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "Goals without recent progress" not in page  # one note without is not yet a pattern
    write_note(c, client, [worry], confirm_missing="1")
    page = c.get(f"/clients/{client.id}").get_data(as_text=True)
    flagged = page.split("Goals without recent progress")[1].split("</ul>")[0]
    assert "Sleep through the night" in flagged and "Reduce worry" not in flagged
    dashboard = c.get("/").get_data(as_text=True)
    assert "Goals without recent progress" in dashboard
    assert f"/clients/{client.id}/notes/new" in dashboard and "Sleep through the night" in dashboard
    # Not in another clinician's dashboard.
    assert "Sleep through the night" not in as_user(world.clin_a2).get("/").get_data(as_text=True)
    with in_db():
        flags = progress.goals_without_progress(Client.id == client.id)
        assert list(flags) == [sleep.id] and flags[sleep.id].notes_since == 2
        assert progress.stale_goals_of_client(Client.get_by_id(client.id)) == list(flags.values())


def _last_progress_kept():
    return {g: at for g, at in GoalProgress.select(GoalProgress.goal_id, GoalProgress.last_at)
            .where(GoalProgress.last_at.is_null(False)).tuples()}


def _last_progress_counted():
    return dict(ProgressEntry.select(ProgressEntry.goal, fn.MAX(SessionNote.created_at))
                .join(SessionNote).group_by(ProgressEntry.goal).tuples())


def test_last_progress_per_goal_follows_entries_however_they_are_written(world, as_user):
    """goal_progress is kept by triggers: routes, direct updates and deletes all move it."""
    client = world.client_a1
    _plan, (worry, sleep) = make_plan(client, ("Reduce worry", "Sleep through the night"))
    c = as_user(world.clin_a1)
    first = write_note(c, client, [worry, sleep])
    second = write_note(c, client, [worry, sleep])
    with in_db():
        SessionNote.update(created_at=utcnow() - dt.timedelta(days=7)).where(
            SessionNote.id == second).execute()
        assert _last_progress_kept() == _last_progress_counted()
        ProgressEntry.update(goal=worry.id).where(ProgressEntry.note == first).execute()
        assert _last_progress_kept() == _last_progress_counted()
        assert set(_last_progress_kept()) == {worry.id, sleep.id}
        ProgressEntry.delete().where((ProgressEntry.note == second)
                                     & (ProgressEntry.goal == sleep.id)).execute()
        assert _last_progress_kept() == _last_progress_counted()
        assert sleep.id not in _last_progress_kept()   # its only entries are gone
        ProgressEntry.delete().where(ProgressEntry.note == second).execute()
        assert _last_progress_kept() == _last_progress_counted()


def _new_note_queries(c, client):
    c.get(f"/clients/{client.id}/notes/new")  # note templates created on first use
    with count_queries() as counter:
        response = c.get(f"/clients/{client.id}/notes/new")
    assert response.status_code == 200
    return counter.count, response.get_data(as_text=True)


def test_new_note_makes_a_fixed_number_of_queries(world, as_user):
    small, large = world.client_a1, world.client_a2
    for client, n, clinician in ((small, 3, world.clin_a1), (large, 12, world.clin_a2)):
        plan, goals = make_plan(client, [f"Goal {i}" for i in range(n)])
        c = as_user(clinician)
        write_note(c, client, goals)
        with in_db():
            for goal in goals:
                Objective.create(goal=goal, text=f"Step for {goal.title}")
                Homework.create(client=client.id, goal=goal, plan=plan, text=f"Task {goal.title}",
                                feedback="ok", feedback_at=utcnow(), status="done",
                                completed_at=utcnow())
    few, few_html = _new_note_queries(as_user(world.clin_a1), small)
    many, many_html = _new_note_queries(as_user(world.clin_a2), large)
    assert len(re.findall(r'name="goal-\d+-rating"', few_html)) == 3
    assert len(re.findall(r'name="goal-\d+-rating"', many_html)) == 12
    assert few == many, (few, many)
    assert many <= 10, many  # the bound for every page
