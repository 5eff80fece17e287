"""Homework: assigning from the plan, changing and removing it, and the dashboard panel."""
import datetime as dt

import pytest

from core.db import utcnow
from core.models import AuditEvent, Homework, HomeworkSuggestion, Objective, Plan, Revision
from tests.conftest import count_queries, in_db
from tests.test_notes import make_plan, write_note

TODAY = dt.date.today()


def test_assign_homework_from_the_plan_with_suggestions(world, as_user):
    client = world.client_a1
    plan, (worry, sleep) = make_plan(client, ("Reduce worry", "Sleep through the night"))
    with in_db():
        idea = HomeworkSuggestion.create(goal=worry, text="Keep a daily worry log for one week")
        HomeworkSuggestion.create(goal=sleep, text="Same wake-up time every day")
        step = Objective.create(goal=worry, text="Name three worry triggers")
    c = as_user(world.clin_a1)
    form = c.get(f"/clients/{client.id}/homework/new?goal={worry.id}&suggestion={idea.id}")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "Same wake-up time every day" in html  # every goal's ideas are offered
    assert ">Keep a daily worry log for one week</textarea>" in html
    assert f'<option value="{worry.id}" selected>' in html
    prefilled = c.get(f"/clients/{client.id}/homework/new?goal={sleep.id}&text=Walk+daily")
    assert ">Walk daily</textarea>" in prefilled.get_data(as_text=True)

    due = (TODAY + dt.timedelta(days=7)).isoformat()
    response = c.submit(f"/clients/{client.id}/homework/new",
                        {"text": "Keep a daily worry log", "due_date": due, "objective": str(step.id)})
    assert response.status_code == 303
    with in_db():
        hw = Homework.get(Homework.text == "Keep a daily worry log")
        assert (hw.client_id, hw.goal_id, hw.objective_id, hw.plan_id, hw.status, hw.due_date) == (
            client.id, worry.id, step.id, plan.id, "assigned", TODAY + dt.timedelta(days=7))
        assert hw.assigned_by_id == world.clin_a1.id
        assert Revision.select().where((Revision.entity == "homework") & (Revision.field == "added")).exists()
    page = c.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "Keep a daily worry log" in page


def test_homework_must_link_to_this_clients_plan(world, as_user):
    _plan, (other_goal,) = make_plan(world.client_a2, ("Someone else's goal",))
    c = as_user(world.clin_a1)
    # Forged: the form lists only this client's goals.
    bad = c.forge(f"/clients/{world.client_a1.id}/homework", {"text": "Task", "goal": str(other_goal.id)})
    assert bad.status_code == 422 and "this client" in bad.get_data(as_text=True)
    new = f"/clients/{world.client_a1.id}/homework/new"
    assert c.submit(new, {"text": " "}).status_code == 422
    # A browser's date field sends only dates; a hand-made post may send anything.
    assert c.forge(f"/clients/{world.client_a1.id}/homework",
                   {"text": "Task", "due_date": "soon"}).status_code == 422
    with in_db():
        assert Homework.select().count() == 0


def test_clinician_changes_removes_and_restores_homework(world, as_user):
    client = world.client_a1
    plan, (worry,) = make_plan(client)
    c = as_user(world.clin_a1)
    c.submit(f"/clients/{client.id}/homework/new", {"text": "Worry log", "goal": str(worry.id)})
    with in_db():
        hw = Homework.get()
        Homework.update(feedback="Hard on Monday", feedback_at=utcnow(), status="done").where(
            Homework.id == hw.id).execute()
    detail = c.get(f"/homework/{hw.id}")
    assert detail.status_code == 200 and "Hard on Monday" in detail.get_data(as_text=True)
    with in_db():
        assert Homework.get_by_id(hw.id).feedback_seen is True
    changed = c.submit(f"/homework/{hw.id}", {"text": "Worry log, evenings only"})
    assert changed.status_code == 303
    with in_db():
        assert Homework.get_by_id(hw.id).text == "Worry log, evenings only"
        rev = Revision.get((Revision.entity == "homework") & (Revision.field == "text"))
        assert (rev.old_value, rev.new_value, rev.plan_id) == ("Worry log", "Worry log, evenings only", plan.id)
    removed = c.submit(f"/homework/{hw.id}", action=f"/homework/{hw.id}/remove",
                       follow_redirects=True)
    assert "The homework was removed." in removed.get_data(as_text=True)
    assert c.get(f"/homework/{hw.id}").status_code == 404
    with in_db():
        assert Homework.get_by_id(hw.id).deleted_at is not None
    assert c.submit(removed.request.path, action=f"/homework/{hw.id}/restore",
                    page=removed).status_code == 303
    with in_db():
        assert Homework.get_by_id(hw.id).deleted_at is None


@pytest.mark.parametrize("who", ["clin_a2", "clin_b", "admin_b"])
def test_homework_urls_outside_scope_are_404_unchanged_and_audited(world, as_user, who):
    client = world.client_a1
    with in_db():
        hw = Homework.create(client=client.id, text="Private task", feedback="private feedback",
                             feedback_at=utcnow())
        before = Homework.get_by_id(hw.id).__data__.copy()
    c = as_user(getattr(world, who))
    # Forged posts: none of these pages is open to this user.
    attempts = [c.get(f"/homework/{hw.id}"), c.forge(f"/homework/{hw.id}", {"text": "Hacked"}),
                c.forge(f"/homework/{hw.id}/remove"), c.forge(f"/homework/{hw.id}/restore"),
                c.get(f"/clients/{client.id}/homework/new"),
                c.forge(f"/clients/{client.id}/homework", {"text": "Injected"}),
                c.forge(f"/clients/{client.id}/portal-invitation", {"email": "x@example.org"})]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert all("Private task" not in r.get_data(as_text=True) for r in attempts)
    with in_db():
        assert Homework.get_by_id(hw.id).__data__ == before
        assert Homework.select().count() == 1
        assert AuditEvent.select().where(AuditEvent.action == "access.denied").count() == len(attempts)


def _attention_world(world):
    """For client_a1 (clin_a1): new feedback, overdue homework, a plan due for review."""
    client = world.client_a1
    plan, _goals = make_plan(client, ("Reduce worry",))
    with in_db():
        Plan.update(review_date=TODAY - dt.timedelta(days=1)).where(Plan.id == plan.id).execute()
        Homework.create(client=client.id, text="Task with new feedback", status="done",
                        feedback="It went well", feedback_at=utcnow())
        Homework.create(client=client.id, text="Task already read", status="done",
                        feedback="Seen", feedback_at=utcnow(), feedback_seen=True)
        Homework.create(client=client.id, text="Overdue breathing practice",
                        due_date=TODAY - dt.timedelta(days=2))
        Homework.create(client=client.id, text="Due later", due_date=TODAY + dt.timedelta(days=2))
        Homework.create(client=client.id, text="Overdue but done", status="done",
                        due_date=TODAY - dt.timedelta(days=2))
    return plan


def test_dashboard_shows_what_needs_attention_with_links(world, as_user):
    plan = _attention_world(world)
    c = as_user(world.clin_a1)
    html = c.get("/").get_data(as_text=True)
    panel = html.split("Needs your attention")[1].split("</section>")[0]
    for present in ("Task with new feedback", "Overdue breathing practice", plan.title):
        assert present in panel, present
    for absent in ("Task already read", "Due later", "Overdue but done"):
        assert absent not in panel, absent
    with in_db():
        feedback = Homework.get(Homework.text == "Task with new feedback")
    assert f"/homework/{feedback.id}" in panel
    assert f"/clients/{world.client_a1.id}/notes/new" in panel
    # Opening the client's next note marks the feedback as seen.
    c.get(f"/clients/{world.client_a1.id}/notes/new")
    assert "Task with new feedback" not in c.get("/").get_data(as_text=True)
    # Nothing of this caseload reaches another clinician or another practice.
    for other in (world.clin_a2, world.clin_b, world.admin_b):
        assert "Overdue breathing practice" not in as_user(other).get("/").get_data(as_text=True)
    assert "Overdue breathing practice" in as_user(world.admin_a).get("/").get_data(as_text=True)


def test_dashboard_panel_makes_a_fixed_number_of_queries(world, as_user):
    c = as_user(world.clin_a1)
    c.get("/")
    with count_queries() as empty:
        c.get("/")
    _attention_world(world)
    write_note(c, world.client_a1, confirm_missing="1")
    with count_queries() as full:
        c.get("/")
    assert empty.count == full.count
