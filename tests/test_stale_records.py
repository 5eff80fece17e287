"""Two people (or two tabs) editing one record never lose each other's work.

For each kind of record outside plans and the library: (a) different fields changed: both kept,
no question; (b) the same field changed: 409, nothing written, every field shown with the
clashing ones marked, my input kept; (c) saving the 409 page's form again keeps mine. The
stale side always posts a form parsed before the other save, as a second tab would."""
import datetime as dt
import html as htmllib
import re

from core.models import AuditEvent, CareTeamMember, Client, Homework, NoteTemplate, SessionNote
from tests.conftest import in_db, parse_forms, pick_form
from tests.test_notes import TODAY, make_plan, note_form, write_note
from tests.test_portal import portal_user  # noqa: F401  (fixture)


def opened(c, page_url, action=None):
    """The form as the page shows it now: a tab opened at this moment."""
    page = c.get(page_url)
    assert page.status_code == 200, page.status_code
    return pick_form(parse_forms(page.get_data(as_text=True)), action, page_url)


def save(c, form, data=None, htmx=False):
    values = form.values(data or {})
    if htmx:
        return c.http.post(form.action, data=values,
                           headers={"HX-Request": "true", "X-CSRFToken": values["csrf_token"]})
    return c.http.post(form.action, data=values)


def conflict_rows(response) -> dict:
    """{label: (marked, saved meanwhile, mine)} of the conflict view."""
    page = response.get_data(as_text=True)
    start = page.index('class="conflict-fields"')
    table = page[start:page.index("</table>", start)]
    rows = re.findall(r'<tr( class="differs")?><th scope="row">([^<]*)(?:<span[^>]*>[^<]*</span>)?'
                      r'</th><td>(.*?)</td><td>(.*?)</td></tr>', table, re.S)
    return {htmllib.unescape(label).strip(): (bool(marked), htmllib.unescape(theirs),
                                              htmllib.unescape(mine))
            for marked, label, theirs, mine in rows}


def resubmit(c, response, page_url, action=None, data=None):
    """Save again from the 409 page, as the person would after checking it."""
    assert response.status_code == 409
    form = pick_form(parse_forms(response.get_data(as_text=True)), action, page_url)
    return save(c, form, data)


def audited_conflict(kind, secret):
    events = list(AuditEvent.select().where(AuditEvent.action == f"{kind}.conflict"))
    assert len(events) == 1, [e.action for e in AuditEvent.select()]
    assert secret not in events[0].detail
    return events[0]


# --- clients ------------------------------------------------------------------------------------

def _two_on_the_client(world, as_user):
    with in_db():
        CareTeamMember.create(client=world.client_a1.id, user=world.clin_a2.id)
    return as_user(world.clin_a1), as_user(world.clin_a2), f"/clients/{world.client_a1.id}/edit"


def test_client_edits_of_different_fields_are_merged(world, as_user):
    a, b, page = _two_on_the_client(world, as_user)
    tab_a, tab_b = opened(a, page), opened(b, page)
    assert save(a, tab_a, {"presenting_problem": "panic attacks"}).status_code == 303
    saved = save(b, tab_b, {"email": "ada@example.org",
                            "care_team": [str(world.clin_a2.id), str(world.admin_a.id)]})
    assert saved.status_code == 303
    with in_db():
        client = Client.get_by_id(world.client_a1.id)
        assert (client.presenting_problem, client.email) == ("panic attacks", "ada@example.org")
        assert (client.first_name, client.version) == ("Ada", 3)
        team = {m.user_id for m in CareTeamMember.select().where(CareTeamMember.client == client.id)}
        assert team == {world.clin_a2.id, world.admin_a.id}


def test_client_same_field_is_a_conflict_then_saving_again_keeps_mine(world, as_user):
    a, b, page = _two_on_the_client(world, as_user)
    tab_a, tab_b = opened(a, page), opened(b, page)
    assert save(a, tab_a, {"last_name": "King", "presenting_problem": "panic"}).status_code == 303
    with in_db():
        before = Client.get_by_id(world.client_a1.id).__data__.copy()
    refused = save(b, tab_b, {"last_name": "Byron", "first_name": "Augusta"})
    assert refused.status_code == 409
    with in_db():
        assert Client.get_by_id(world.client_a1.id).__data__ == before  # nothing written
        audited_conflict("client", "Byron")
    rows = conflict_rows(refused)
    assert list(rows) == ["First name", "Last name", "Date of birth", "Email",
                          "Presenting problem", "Primary clinician", "Care team"]
    assert rows["Last name"] == (True, "King", "Byron")
    assert rows["First name"] == (False, "Ada", "Augusta")  # only mine: merged, not asked
    assert rows["Presenting problem"][:2] == (False, "panic")
    assert rows["Care team"][1] == "Clin_A2"
    # My input is kept; what only they changed shows their value, so saving again cannot undo it.
    again = pick_form(parse_forms(refused.get_data(as_text=True)), None, page)
    fields = dict(again.fields)
    assert (fields["last_name"], fields["first_name"], fields["presenting_problem"]) == (
        "Byron", "Augusta", "panic")
    assert fields["version"] == str(before["version"]) and fields["base-last_name"] == "King"
    assert resubmit(b, refused, page).status_code == 303
    with in_db():
        client = Client.get_by_id(world.client_a1.id)
        assert (client.first_name, client.last_name, client.presenting_problem) == (
            "Augusta", "Byron", "panic")


def test_client_form_without_a_version_never_overwrites(world, as_user):
    """An old page (or a hand-made post) without version or base is treated as stale."""
    a = as_user(world.clin_a1)
    # Hand-made: the page's form always carries version and base.
    response = a.forge(f"/clients/{world.client_a1.id}/edit",
                       {"first_name": "Ada", "last_name": "Other"})
    assert response.status_code == 409
    with in_db():
        assert Client.get_by_id(world.client_a1.id).last_name == "Lovelace"


# --- homework: clinician and client ---------------------------------------------------------------

def test_issue_scenario_client_answer_survives_a_clinician_save_from_an_older_form(
        world, as_user, portal_user):  # noqa: F811
    hw_id = portal_user.homework_id
    clinician = as_user(world.clin_a1)
    older = opened(clinician, f"/homework/{hw_id}")
    answered = portal_user.submit("/portal/", {"status": "done", "feedback": "It helped a lot"},
                                  action=f"/portal/homework/{hw_id}")
    assert answered.status_code == 303
    with in_db():
        completed_at = Homework.get_by_id(hw_id).completed_at
        assert completed_at is not None
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    assert save(clinician, older, {"due_date": due}).status_code == 303
    with in_db():
        hw = Homework.get_by_id(hw_id)
        assert (hw.status, hw.completed_at, hw.feedback) == ("done", completed_at, "It helped a lot")
        assert hw.due_date.isoformat() == due and hw.text == "Keep a worry log"


def test_clinician_homework_different_fields_merged_same_field_conflict(world, as_user, portal_user):  # noqa: F811
    hw_id, page = portal_user.homework_id, f"/homework/{portal_user.homework_id}"
    a, b = as_user(world.clin_a1), as_user(world.admin_a)
    tab_a, tab_b = opened(a, page), opened(b, page)
    assert save(a, tab_a, {"text": "Keep a worry log, evenings"}).status_code == 303
    assert save(b, tab_b, {"due_date": TODAY}).status_code == 303  # (a) merged
    with in_db():
        hw = Homework.get_by_id(hw_id)
        assert (hw.text, hw.due_date.isoformat()) == ("Keep a worry log, evenings", TODAY)
    tab_a, tab_b = opened(a, page), opened(b, page)
    assert save(a, tab_a, {"text": "Worry log: ten minutes"}).status_code == 303
    with in_db():
        before = Homework.get_by_id(hw_id).__data__.copy()
    refused = save(b, tab_b, {"text": "Worry log: write it down"})
    assert refused.status_code == 409  # (b)
    with in_db():
        assert Homework.get_by_id(hw_id).__data__ == before
        audited_conflict("homework", "Worry log")
    rows = conflict_rows(refused)
    assert list(rows) == ["Task", "Due", "Goal", "Objective", "Status"]
    assert rows["Task"] == (True, "Worry log: ten minutes", "Worry log: write it down")
    assert rows["Goal"] == (False, "Worry less about work", "Worry less about work")
    assert resubmit(b, refused, page).status_code == 303  # (c)
    with in_db():
        assert Homework.get_by_id(hw_id).text == "Worry log: write it down"


def test_a_stale_clinician_status_change_does_not_undo_the_clients_answer(world, as_user, portal_user):  # noqa: F811
    hw_id = portal_user.homework_id
    clinician = as_user(world.clin_a1)
    older = opened(clinician, f"/homework/{hw_id}")
    portal_user.submit("/portal/", {"status": "done", "feedback": "Did it"},
                       action=f"/portal/homework/{hw_id}")
    refused = save(clinician, older, {"status": "skipped"})
    assert refused.status_code == 409
    assert conflict_rows(refused)["Status"] == (True, "done", "skipped")
    with in_db():
        assert Homework.get_by_id(hw_id).status == "done"


def test_portal_answer_merges_with_clinician_edits_and_refuses_a_stale_second_tab(
        world, as_user, portal_user):  # noqa: F811
    hw_id = portal_user.homework_id
    card = f"/portal/homework/{hw_id}"
    clinician = as_user(world.clin_a1)
    tab_1, tab_2 = opened(portal_user, "/portal/", card), opened(portal_user, "/portal/", card)
    # (a) the clinician rewords the task meanwhile: the client's answer still goes in, and
    # never touches the task.
    assert clinician.submit(f"/homework/{hw_id}", {"text": "Worry log, reworded"}).status_code == 303
    assert save(portal_user, tab_1, {"status": "done", "feedback": "First tab"}).status_code == 303
    with in_db():
        hw = Homework.get_by_id(hw_id)
        assert (hw.text, hw.status, hw.feedback) == ("Worry log, reworded", "done", "First tab")
        before = hw.__data__.copy()
    # (b) the second tab, opened before, writes another note: asked, nothing written.
    refused = save(portal_user, tab_2, {"status": "done", "feedback": "Second tab"}, htmx=True)
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert text.lstrip().startswith('<article class="panel homework-card"')
    assert "Second tab" in text  # kept in the form
    rows = conflict_rows(refused)
    assert rows == {"Your answer": (False, "Done", "Done"),
                    "Your note": (True, "First tab", "Second tab")}
    with in_db():
        assert Homework.get_by_id(hw_id).__data__ == before
        audited_conflict("homework", "tab")
    plain = save(portal_user, tab_2, {"status": "done", "feedback": "Second tab"})  # no JavaScript
    assert plain.status_code == 409 and "<html" in plain.get_data(as_text=True)
    assert conflict_rows(plain)["Your note"] == (True, "First tab", "Second tab")
    # (c) saving again from the refused card keeps the second note.
    again = pick_form(parse_forms(text), card, "/portal/")
    assert save(portal_user, again, {"status": "done"}, htmx=True).status_code == 200
    with in_db():
        hw = Homework.get_by_id(hw_id)
        assert (hw.feedback, hw.status, hw.text) == ("Second tab", "done", "Worry log, reworded")


def test_portal_answer_on_homework_removed_meanwhile_is_refused_clearly(world, as_user, portal_user):  # noqa: F811
    hw_id = portal_user.homework_id
    card = f"/portal/homework/{hw_id}"
    tab = opened(portal_user, "/portal/", card)
    as_user(world.clin_a1).send(f"/homework/{hw_id}/remove", htmx=True)
    for htmx in (False, True):
        refused = save(portal_user, tab, {"status": "done", "feedback": "My long answer"}, htmx=htmx)
        assert refused.status_code == 409
        text = refused.get_data(as_text=True)
        assert "removed this homework" in text and "My long answer" in text
    with in_db():
        hw = Homework.get_by_id(hw_id)
        assert (hw.status, hw.feedback) == ("assigned", "")


# --- session notes (unsigned, two tabs of the author) -------------------------------------------

def test_note_in_two_tabs_merges_then_conflicts_then_saves_again(world, as_user):
    _plan, (worry,) = make_plan(world.client_a1)
    c = as_user(world.clin_a1)
    note_id = write_note(c, world.client_a1, [worry], body="First draft")
    page, action = f"/notes/{note_id}/edit", f"/notes/{note_id}"
    rating = f"goal-{worry.id}-rating"
    tab_1, tab_2 = opened(c, page, action), opened(c, page, action)
    assert save(c, tab_1, {"body": "Second draft"}).status_code == 303
    assert save(c, tab_2, {rating: "8"}).status_code == 303  # (a)
    with in_db():
        note = SessionNote.get_by_id(note_id)
        assert note.body == "Second draft" and "Second draft" in note.body_html
        assert [e.rating for e in note.progress] == [8]
    tab_1, tab_2 = opened(c, page, action), opened(c, page, action)
    assert save(c, tab_1, {"body": "Third draft from tab one"}).status_code == 303
    with in_db():
        before = SessionNote.get_by_id(note_id).__data__.copy()
    refused = save(c, tab_2, {"body": "Another text from tab two", rating: "3"})
    assert refused.status_code == 409  # (b)
    with in_db():
        note = SessionNote.get_by_id(note_id)
        assert note.__data__ == before and [e.rating for e in note.progress] == [8]
        audited_conflict("note", "draft")
    rows = conflict_rows(refused)
    assert list(rows)[:3] == ["Session date", "Format", "Note"]
    assert rows["Note"] == (True, "Third draft from tab one", "Another text from tab two")
    assert rows["Reduce worry: rating"] == (False, "8", "3")
    assert "Reduce worry: comment" in rows and "Reduce worry: no change" in rows
    assert resubmit(c, refused, page, action).status_code == 303  # (c)
    with in_db():
        note = SessionNote.get_by_id(note_id)
        assert note.body == "Another text from tab two" and [e.rating for e in note.progress] == [3]


def test_a_note_is_signed_only_as_the_page_showed_it(world, as_user):
    c = as_user(world.clin_a1)
    note_id = write_note(c, world.client_a1, body="Draft one")
    page, sign = f"/notes/{note_id}", f"/notes/{note_id}/sign"
    stale = opened(c, page, sign)
    assert c.submit(f"/notes/{note_id}/edit", {"body": "Draft two"}, action=page).status_code == 303
    refused = save(c, stale)
    assert refused.status_code == 409 and "it was not signed" in refused.get_data(as_text=True)
    assert "Draft two" in refused.get_data(as_text=True)
    with in_db():
        assert SessionNote.get_by_id(note_id).signed_at is None
        audited_conflict("note", "Draft")
    assert resubmit(c, refused, page, sign).status_code == 303
    with in_db():
        assert SessionNote.get_by_id(note_id).signed_at is not None


# --- the practice's note templates (admin) -------------------------------------------------------

def test_note_templates_in_two_admin_tabs(world, as_user):
    a, b = as_user(world.admin_a), as_user(world.admin_a)
    page = "/admin/note-templates"
    tab_a, tab_b = opened(a, page), opened(b, page)
    assert save(a, tab_a, {"DAP": "Our DAP"}).status_code == 303
    assert save(b, tab_b, {"SOAP": "Our SOAP"}).status_code == 303  # (a)

    def bodies():
        with in_db():
            return {t.format: t.body for t in
                    NoteTemplate.select().where(NoteTemplate.practice == world.practice_a)}
    assert (bodies()["DAP"], bodies()["SOAP"]) == ("Our DAP", "Our SOAP")
    tab_a, tab_b = opened(a, page), opened(b, page)
    assert save(a, tab_a, {"DAP": "DAP by A"}).status_code == 303
    before = bodies()
    refused = save(b, tab_b, {"DAP": "DAP by B", "free": "Free by B"})
    assert refused.status_code == 409  # (b): all or nothing
    assert bodies() == before
    with in_db():
        audited_conflict("note_template", "by B")
    rows = conflict_rows(refused)
    assert rows == {"DAP": (True, "DAP by A", "DAP by B"), "SOAP": (False, "Our SOAP", "Our SOAP"),
                    "Free text": (False, before["free"].strip(), "Free by B")}
    assert resubmit(b, refused, page).status_code == 303  # (c)
    assert (bodies()["DAP"], bodies()["free"], bodies()["SOAP"]) == ("DAP by B", "Free by B", "Our SOAP")


def test_invalid_input_on_a_stale_form_keeps_it_stale(world, as_user):
    """A 422 must not quietly adopt the current version: the next save is still merged."""
    a, b, page = _two_on_the_client(world, as_user)
    tab_a, tab_b = opened(a, page), opened(b, page)
    assert save(a, tab_a, {"last_name": "King"}).status_code == 303
    invalid = save(b, tab_b, {"last_name": "Byron", "date_of_birth": "not a date"})
    assert invalid.status_code == 422
    again = pick_form(parse_forms(invalid.get_data(as_text=True)), None, page)
    assert save(b, again, {"date_of_birth": ""}).status_code == 409
    with in_db():
        assert Client.get_by_id(world.client_a1.id).last_name == "King"


# --- migration 7 ---------------------------------------------------------------------------------

def test_migration_7_adds_version_columns_to_a_version_6_database(database_url):
    from app import create_app
    from core import accounts, migrations
    from core.db import db
    from core.models import Practice, User
    from tests.conftest import PASSWORD, TEST_CONFIG
    tables = [m._meta.table_name for m in (User, Client, Homework, NoteTemplate, SessionNote)]
    create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "AUTO_UPGRADE": False})
    with in_db():
        assert migrations.upgrade(target=6) == [1, 2, 3, 4, 5, 6]
        practice = Practice.create(name="Old practice")
        user = accounts.create_user(practice, "old@example.org", "Old", PASSWORD, "admin")
        client = Client.create(practice=practice, first_name="Kept", last_name="Client",
                               primary_clinician=user)
        Homework.create(client=client, text="Old homework")
        # Today's models made the columns; a database of version 6 did not have them.
        for table in tables:
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN version')
        assert all("version" not in {c.name for c in db.get_columns(t)} for t in tables)
        assert migrations.upgrade(target=7) == [7]
        assert all("version" in {c.name for c in db.get_columns(t)} for t in tables)
        assert Client.get_by_id(client.id).version == 1 and Homework.get().version == 1
        assert migrations.upgrade(target=7) == []
    with in_db():  # a fresh install: the step finds the columns and leaves them
        assert migrations.current_version() == 7
        migrations.MIGRATIONS[6][2]()


# --- member records (admin) ----------------------------------------------------------------------

def test_member_toggle_from_a_stale_members_page_says_what_happened(world, as_user):
    a, b = as_user(world.admin_a), as_user(world.admin_a)
    page, action = "/admin/members", f"/admin/members/{world.clin_a2.id}/deactivate"
    tab_a, tab_b = opened(a, page, action), opened(b, page, action)
    assert save(a, tab_a).status_code == 303
    again = save(b, tab_b)  # the same intent, already done: no second event, and said so
    assert again.status_code == 303
    assert "was already deactivated" in b.get(page).get_data(as_text=True)
    with in_db():
        assert AuditEvent.select().where(AuditEvent.action == "member.deactivate").count() == 1
        from core.models import User
        member = User.get_by_id(world.clin_a2.id)
        assert (member.active, member.version) == (False, 2)
    # The same from the other side: reactivated meanwhile, the old page's Reactivate is a no-op.
    activate = f"/admin/members/{world.clin_a2.id}/activate"
    stale = opened(b, page, activate)
    assert a.submit(page, action=activate).status_code == 303
    assert save(b, stale).status_code == 303
    assert "was already active" in b.get(page).get_data(as_text=True)
    with in_db():
        assert User.get_by_id(world.clin_a2.id).active is True
        assert AuditEvent.select().where(AuditEvent.action == "member.activate").count() == 1
