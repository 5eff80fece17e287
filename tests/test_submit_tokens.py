"""One-time form tokens: a create form sent twice (a resubmit after a dropped connection, a
double click) makes one record, and the second answer points at the first result."""
import threading

import pytest

from core import notes
from core.models import (Client, CustomMeasure, Goal, Homework, Intervention, Invitation,
                         MeasureScore, NoteAddendum, Objective, Plan, PortalInvitation,
                         SessionNote, Template)
from core.submit_tokens import SubmitToken
from tests.conftest import in_db, parse_forms, pick_form
from tests.test_library import add_template, make_source
from tests.test_notes import make_plan
from tests.test_plans import make_template


def page_form(c, page_url, data, action=None, htmx=False):
    """The fields the page's form really sends (its own submit_token among them), and where."""
    headers = {"HX-Request": "true"} if htmx else {}
    page = c.http.get(page_url, headers=headers)
    assert page.status_code == 200, page_url
    form = pick_form(parse_forms(page.get_data(as_text=True)), action, page_url)
    fields = form.values(data)
    assert fields.get("submit_token"), f"the form on {page_url} carries no submit_token"
    return form.action or page_url, fields


def post(c, target, fields, htmx=False):
    headers = {"HX-Request": "true", "X-CSRFToken": c.csrf_token()} if htmx else {}
    return c.http.post(target, data=fields, headers=headers)


def count(model, *where):
    with in_db():
        return model.select().where(*where).count()


# Each case: (name, build(world) -> (page_url, action, data, count_fn), htmx)

def _client(world):
    return ("/clients/new", None, {"first_name": "Mary", "last_name": "Somerville"},
            lambda: count(Client, Client.last_name == "Somerville"))


def _blank_plan(world):
    cid = world.client_a1.id
    return (f"/clients/{cid}/plans/new", f"/clients/{cid}/plans", {"title": "Once only"},
            lambda: count(Plan, Plan.title == "Once only"))


def _template_plan(world):
    template = make_template(world.admin_a)
    cid = world.client_a1.id
    return (f"/clients/{cid}/plans/new?template={template.id}", f"/clients/{cid}/plans", {},
            lambda: count(Plan, Plan.client == cid))


def _note(world):
    cid = world.client_a1.id
    return (f"/clients/{cid}/notes/new", f"/clients/{cid}/notes",
            {"body": "Discussed the week, once."},
            lambda: count(SessionNote, SessionNote.client == cid))


def _homework(world):
    cid = world.client_a1.id
    return (f"/clients/{cid}/homework/new", f"/clients/{cid}/homework",
            {"text": "Walk twice, only once assigned"},
            lambda: count(Homework, Homework.text == "Walk twice, only once assigned"))


def _goal(world):
    plan, _goals = make_plan(world.client_a1)
    return (f"/plans/{plan.id}/goals/new", f"/plans/{plan.id}/goals",
            {"title": "Sleep seven hours, added once"},
            lambda: count(Goal, Goal.title == "Sleep seven hours, added once"))


def _objective(world):
    _plan, (goal,) = make_plan(world.client_a1)
    return (f"/goals/{goal.id}/objectives/new", f"/goals/{goal.id}/objectives",
            {"text": "One objective, once"},
            lambda: count(Objective, Objective.text == "One objective, once"))


def _intervention(world):
    _plan, (goal,) = make_plan(world.client_a1)
    return (f"/goals/{goal.id}/interventions/new", f"/goals/{goal.id}/interventions",
            {"text": "One intervention, once"},
            lambda: count(Intervention, Intervention.text == "One intervention, once"))


def _addendum(world):
    with in_db():
        note = notes.create_note(world.clin_a1, world.client_a1,
                                 {"date": "2026-01-05", "format": "DAP", "body": "Signed text"})
        notes.sign_note(world.clin_a1, note, note.version)
    return (f"/notes/{note.id}", f"/notes/{note.id}/addenda", {"body": "Added once"},
            lambda: count(NoteAddendum, NoteAddendum.note == note.id))


def _score(world):
    cid = world.client_a1.id
    return (f"/clients/{cid}/progress", f"/clients/{cid}/scores",
            {"instrument": "GAD-7", "score": "7", "taken_on": "2026-01-05"},
            lambda: count(MeasureScore, MeasureScore.client == cid))


def _custom_measure(world):
    return ("/admin/measures", None, {"name": "ORS", "min_score": "0", "max_score": "40"},
            lambda: count(CustomMeasure, CustomMeasure.name == "ORS"))


def _template(world):
    return ("/library/new", None, {"source": make_source(title="Written once"),
                                   "visibility": "private"},
            lambda: count(Template, Template.title == "Written once"))


def _fork(world):
    upstream = add_template(world.clin_a2, "practice", title="Forked once")
    return (f"/library/{upstream.id}", f"/library/{upstream.id}/fork", {},
            lambda: count(Template, Template.forked_from == upstream.id))


def _plan_as_template(world):
    plan, _goals = make_plan(world.client_a1)
    return (f"/plans/{plan.id}/save-as-template", None, {"visibility": "private"},
            lambda: count(Template, Template.owner == world.clin_a1.id))


CASES = {"client": _client, "blank plan": _blank_plan, "plan from template": _template_plan,
         "note": _note, "homework": _homework, "goal": _goal, "objective": _objective,
         "intervention": _intervention, "addendum": _addendum, "score": _score,
         "custom measure": _custom_measure, "template": _template, "fork": _fork,
         "plan as template": _plan_as_template}
WHO = {"custom measure": "admin_a"}
UNIQUE_NAMES = {"custom measure"}  # a second one of the same name is refused anyway
HTMX_CASES = {"goal": _goal, "objective": _objective, "intervention": _intervention}


@pytest.mark.parametrize("case", list(CASES))
def test_form_sent_twice_creates_one_record_and_answers_with_the_first(world, as_user, case):
    page_url, action, data, how_many = CASES[case](world)
    c = as_user(getattr(world, WHO.get(case, "clin_a1")))
    target, fields = page_form(c, page_url, data, action)
    first = post(c, target, fields)
    assert first.status_code == 303, first.get_data(as_text=True)[:800]
    again = post(c, target, fields)
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert how_many() == 1
    shown = c.http.get(again.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "already sent" in shown
    if case in UNIQUE_NAMES:
        return
    # A fresh form is a fresh token: a second record made on purpose is not refused.
    target, fields = page_form(c, page_url, data, action)
    assert post(c, target, fields).status_code == 303
    assert how_many() == 2


@pytest.mark.parametrize("case", list(HTMX_CASES))
def test_htmx_form_sent_twice_creates_one_record(world, as_user, case):
    page_url, action, data, how_many = HTMX_CASES[case](world)
    c = as_user(world.clin_a1)
    target, fields = page_form(c, page_url, data, action, htmx=True)
    first = post(c, target, fields, htmx=True)
    assert first.status_code == 200, first.get_data(as_text=True)[:800]
    again = post(c, target, fields, htmx=True)
    assert again.status_code == 200
    assert how_many() == 1
    with in_db():
        goal_id = (Goal.select(Goal.id).where(Goal.title == data["title"]).scalar() if case == "goal"
                   else int(page_url.split("/")[2]))
    assert again.headers["HX-Redirect"].endswith(f"#goal-{goal_id}")


def test_import_confirmed_twice_imports_once(world, as_user):
    c = as_user(world.clin_a1)
    preview = c.submit("/library/import", {"pasted": make_source(title="Imported once"),
                                           "visibility": "private"})
    form = pick_form(parse_forms(preview.get_data(as_text=True)), "/library/import/confirm", "")
    fields = form.values({})
    first = c.http.post(form.action, data=fields, content_type=form.enctype)
    again = c.http.post(form.action, data=fields, content_type=form.enctype)
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert count(Template, Template.title == "Imported once") == 1


@pytest.mark.parametrize("kind", ["portal", "member"])
def test_an_invitation_sent_twice_is_made_once_and_its_link_never_replayed(world, as_user, kind):
    """The link is shown once and never stored: the repeat makes no second invitation and
    says how to get a new link instead."""
    if kind == "portal":
        c = as_user(world.clin_a1)
        page, action, data = (f"/clients/{world.client_a1.id}",
                              f"/clients/{world.client_a1.id}/portal-invitation",
                              {"email": "ada@example.org"})
        model = PortalInvitation
    else:
        c = as_user(world.admin_a)
        page, action, data = "/admin/members", "/admin/members/invite", {"email": "new@example.org"}
        model = Invitation
    before = count(model, True)
    target, fields = page_form(c, page, data, action)
    first = post(c, target, fields)
    assert first.status_code == 200 and "/invitations/" in first.get_data(as_text=True)
    again = post(c, target, fields)
    assert again.status_code == 303 and again.headers["Location"].startswith(page)
    shown = c.http.get(again.headers["Location"]).get_data(as_text=True)
    assert "shown only once" in shown and "/invitations/" not in shown
    assert count(model, True) == before + 1


def test_a_rejected_form_keeps_its_token_usable(world, as_user):
    """A validation error rolls the claim back with the insert: the corrected form goes through."""
    c = as_user(world.clin_a1)
    target, fields = page_form(c, "/clients/new", {"first_name": "", "last_name": "Herschel"})
    assert post(c, target, fields).status_code == 422
    fields["first_name"] = "Caroline"
    assert post(c, target, fields).status_code == 303
    assert count(Client, Client.last_name == "Herschel") == 1


def test_another_members_token_reveals_nothing(world, as_user):
    owner, other = as_user(world.clin_a1), as_user(world.clin_a2)
    page_url, action, data, how_many = _note(world)
    target, fields = page_form(owner, page_url, data, action)
    first = post(owner, target, fields)
    assert first.status_code == 303
    note_url = first.headers["Location"]
    # The practice's admin may write notes for Ada too: the token, not access, is what differs.
    # Both requests below are forged on purpose (another person's token), hence the raw client.
    admin = as_user(world.admin_a)
    stolen = admin.http.post(target, data={**fields.to_dict(), "csrf_token": admin.csrf_token()})
    assert stolen.status_code == 409
    assert note_url not in stolen.get_data(as_text=True)
    assert "Location" not in stolen.headers
    assert how_many() == 1
    # Someone without access to the client gets the usual 404 before any token is looked at.
    refused = other.http.post(target, data={**fields.to_dict(), "csrf_token": other.csrf_token()})
    assert refused.status_code == 404
    assert note_url not in refused.get_data(as_text=True)


def test_a_form_without_a_token_still_works(world, as_user):
    """A page rendered before the token existed posts without one: served as before (the
    deliberate omission is why this uses the raw client)."""
    c = as_user(world.clin_a1)
    target, fields = page_form(c, "/clients/new", {"first_name": "Emmy", "last_name": "Noether"})
    fields.pop("submit_token")
    assert c.http.post(target, data=fields).status_code == 303
    assert count(Client, Client.last_name == "Noether") == 1


def test_a_malformed_token_is_refused_without_saving(world, as_user):
    c = as_user(world.clin_a1)
    target, fields = page_form(c, "/clients/new", {"first_name": "Emmy", "last_name": "Noether"})
    fields["submit_token"] = "x\x00" * 40  # tampered on purpose: the raw client sends it
    assert c.http.post(target, data=fields).status_code == 400
    assert count(Client, Client.last_name == "Noether") == 0


def test_old_tokens_are_pruned_when_a_new_one_is_claimed(world, as_user):
    import datetime as dt
    with in_db():
        SubmitToken.create(token="o" * 32, user_id=world.clin_a1.id,
                           created_at=dt.datetime(2020, 1, 1), result_url="/clients/1")
    c = as_user(world.clin_a1)
    target, fields = page_form(c, "/clients/new", {"first_name": "Lise", "last_name": "Meitner"})
    assert post(c, target, fields).status_code == 303
    with in_db():
        assert SubmitToken.get_or_none(SubmitToken.token == "o" * 32) is None
        assert SubmitToken.select().count() == 1


@pytest.mark.parametrize("case", ["note", "client"])
def test_concurrent_double_submit_creates_one_record(world, as_user, case):
    """Two requests with the same token at once, on the real database: the second waits for
    the first transaction and answers with its result."""
    page_url, action, data, how_many = CASES[case](world)
    c1 = as_user(world.clin_a1)
    c2 = as_user(world.clin_a1)  # a second connection of the same person (two tabs)
    target, fields = page_form(c1, page_url, data, action)
    fields2 = fields.copy()
    fields2["csrf_token"] = c2.csrf_token()
    barrier = threading.Barrier(2)
    answers = {}

    def send(name, c, form):
        barrier.wait()
        answers[name] = c.http.post(target, data=form)

    threads = [threading.Thread(target=send, args=("a", c1, fields)),
               threading.Thread(target=send, args=("b", c2, fields2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status_code for r in answers.values()) == [303, 303]
    assert answers["a"].headers["Location"] == answers["b"].headers["Location"]
    assert how_many() == 1
