"""The client portal: invitations, its own sign-in and sessions, and isolation: a client sees
their own goals and homework and nothing else, and reaches no clinician page."""
import datetime as dt
import hashlib
import re

import pytest

from core.db import utcnow
from core.models import (AuditEvent, Client, Goal, Homework, PortalAccount, PortalInvitation,
                         PortalSession, ProgressEntry)
from tests.conftest import PASSWORD, Browserless, in_db, parse_forms, pick_form
from tests.test_notes import make_plan, write_note

PORTAL_PASSWORD = "a client's own long passphrase"


def invite(as_user, clinician, client, email):
    response = as_user(clinician).submit(f"/clients/{client.id}", {"email": email},
                                         action=f"/clients/{client.id}/portal-invitation")
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    link = re.search(r'value="(http://[^"]+/portal/invitations/[^"]+)"', response.get_data(as_text=True))
    return link.group(1).split("localhost", 1)[-1]


def join(app, path, password=PORTAL_PASSWORD):
    c = Browserless(app)
    response = c.submit(path, {"password": password, "password_confirm": password})
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    c._token = None  # the session is new after sign-in
    return c


def portal_login(app, email, password=PORTAL_PASSWORD):
    c = Browserless(app)
    response = c.submit("/portal/login", {"email": email, "password": password})
    c._token = None
    return c, response


@pytest.fixture
def portal_user(app, world, as_user):
    """client_a1 signed in to the portal, with an active plan, progress and homework."""
    _plan, (worry,) = make_plan(world.client_a1, ("Worry less about work",), measure="GAD-7",
                                target="GAD-7 below 10")
    write_note(as_user(world.clin_a1), world.client_a1, [worry],
               body="Clinician's private formulation",
               **{f"goal-{worry.id}-comment": "Clinician comment not for the client"})
    with in_db():
        hw = Homework.create(client=world.client_a1.id, goal=worry, text="Keep a worry log")
    c = join(app, invite(as_user, world.clin_a1, world.client_a1, "ada@example.org"))
    c.homework_id = hw.id
    return c


def test_invitation_is_single_use_hashed_and_expiring(app, world, as_user):
    path = invite(as_user, world.clin_a1, world.client_a1, "Ada@Example.org")
    token = path.rsplit("/", 1)[1]
    with in_db():
        inv = PortalInvitation.get()
        assert inv.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in inv.token_hash
        assert inv.expires_at - utcnow() > dt.timedelta(days=6, hours=23)
        assert AuditEvent.select().where(AuditEvent.action == "portal.invite").count() == 1
    c = Browserless(app)
    page = c.get(path)
    assert page.status_code == 200 and "ada@example.org" in page.get_data(as_text=True)
    short = c.submit(path, {"password": "short", "password_confirm": "short"})
    assert short.status_code == 422 and "at least 12" in short.get_data(as_text=True)
    differ = c.submit(path, {"password": PORTAL_PASSWORD, "password_confirm": PORTAL_PASSWORD + "x"})
    assert differ.status_code == 422
    c = join(app, path)
    assert c.get("/portal/").status_code == 200
    with in_db():
        account = PortalAccount.get()
        assert account.client_id == world.client_a1.id and account.email == "ada@example.org"
        assert account.password_hash != PORTAL_PASSWORD
    assert Browserless(app).get(path).status_code == 404  # used
    # Forged: the used link has no page any more; a remembered form is all that is left.
    again = Browserless(app).forge(path, {"password": PORTAL_PASSWORD, "password_confirm": PORTAL_PASSWORD})
    assert again.status_code == 404

    expired = invite(as_user, world.clin_a1, world.client_a1, "ada@example.org")
    with in_db():
        PortalInvitation.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            PortalInvitation.used_at.is_null()).execute()
    assert Browserless(app).get(expired).status_code == 404
    # A newer link replaces an older unused one.
    older = invite(as_user, world.clin_a1, world.client_a1, "ada@example.org")
    newer = invite(as_user, world.clin_a1, world.client_a1, "ada@example.org")
    assert Browserless(app).get(older).status_code == 404
    assert Browserless(app).get(newer).status_code == 200


def test_email_of_another_portal_account_is_refused(app, world, as_user):
    join(app, invite(as_user, world.clin_a1, world.client_a1, "shared@example.org"))
    with in_db():
        other = Client.create(practice=world.practice_a, first_name="Bo", last_name="Other",
                              primary_clinician=world.clin_a1)
    response = as_user(world.clin_a1).submit(f"/clients/{other.id}", {"email": "shared@example.org"},
                                             action=f"/clients/{other.id}/portal-invitation")
    assert response.status_code == 422 and "Another portal account" in response.get_data(as_text=True)


def test_portal_shows_only_the_clients_plan_in_plain_language(world, portal_user, as_user):
    with in_db():
        Homework.create(client=world.client_a2.id, text="Grace's homework")
        _p, (draft_goal,) = make_plan(world.client_a1, ("Draft goal not agreed yet",), status="draft")
    html = portal_user.get("/portal/").get_data(as_text=True)
    assert "Worry less about work" in html and "Working on it" in html
    assert "Keep a worry log" in html and "simply sharing your experience next session is fine" in html
    assert "5 / 10" in html
    for hidden in ("Clinician&#39;s private formulation", "Clinician's private formulation",
                   "Clinician comment not for the client", "Grace", "Hopper",
                   "Draft goal not agreed yet", "/clients", "/library"):
        assert hidden not in html, hidden
    assert "Dashboard" not in html and "Audit log" not in html


def test_client_marks_homework_done_with_feedback_and_the_clinician_sees_it(world, portal_user, as_user):
    hw_id = portal_user.homework_id
    card = f"/portal/homework/{hw_id}"
    response = portal_user.submit("/portal/", {"status": "done", "feedback": "Writing worries down helped"},
                                  action=card)
    assert response.status_code == 303
    with in_db():
        hw = Homework.get_by_id(hw_id)
        assert (hw.status, hw.feedback, hw.feedback_seen) == ("done", "Writing worries down helped", False)
        assert hw.completed_at and hw.feedback_at
        event = AuditEvent.get(AuditEvent.action == "portal.homework.update")
        assert "Writing" not in event.detail and event.practice_id == world.practice_a
    # htmx swaps just the card.
    form = pick_form(parse_forms(portal_user.get("/portal/").get_data(as_text=True)), card, "/portal/")
    swapped = portal_user.send(card, form.values({"status": "skipped", "feedback": ""}), htmx=True)
    assert swapped.status_code == 200
    assert swapped.get_data(as_text=True).lstrip().startswith('<article class="panel homework-card"')
    bad = portal_user.send(f"/portal/homework/{hw_id}", {"status": "assigned"}, htmx=True)
    assert bad.status_code == 422 and "Choose done or skipped" in bad.get_data(as_text=True)
    with in_db():
        hw = Homework.get_by_id(hw_id)
        assert hw.status == "skipped" and hw.feedback == "Writing worries down helped"
    note_form = as_user(world.clin_a1).get(f"/clients/{world.client_a1.id}/notes/new")
    assert "Writing worries down helped" in note_form.get_data(as_text=True)


def test_portal_isolation_between_two_clients_of_one_clinician(app, world, as_user, portal_user):
    with in_db():
        sibling = Client.create(practice=world.practice_a, first_name="Bea", last_name="Sibling",
                                primary_clinician=world.clin_a1)
        theirs = Homework.create(client=sibling.id, text="Bea's private homework")
        gone = Homework.create(client=world.client_a1.id, text="Removed", deleted_at=utcnow())
        abroad = Homework.create(client=world.client_b.id, text="Alan's homework")
        before = {h.id: h.__data__.copy() for h in Homework.select()}
    join(app, invite(as_user, world.clin_a1, sibling, "bea@example.org"))
    # Forged: the portal page offers forms only for the client's own homework.
    attempts = [portal_user.forge(f"/portal/homework/{hw}", {"status": "done", "feedback": "mine now"})
                for hw in (theirs.id, abroad.id, gone.id, 987654)]
    attempts.append(portal_user.send(f"/portal/homework/{theirs.id}", {"status": "done"}, htmx=True))
    # Their own homework removed by the clinician is said plainly (409); the rest is not found.
    assert [r.status_code for r in attempts] == [404, 404, 409, 404, 404]
    assert "removed this homework" in attempts[2].get_data(as_text=True)
    attempts = attempts[:2] + attempts[3:]
    # The same answer as for a missing one (the CSRF token's timestamp aside).
    bodies = {re.sub(r'"X-CSRFToken": "[^"]+"|name="csrf_token" value="[^"]+"', "",
                     r.get_data(as_text=True)) for r in attempts[:3]}
    assert len(bodies) == 1
    assert all("Bea" not in r.get_data(as_text=True) for r in attempts)
    with in_db():
        assert {h.id: h.__data__ for h in Homework.select()} == before
        denied = list(AuditEvent.select().where(AuditEvent.action == "access.denied"))
        assert len(denied) == 4 and {e.target_type for e in denied} == {"homework"}
        assert {e.target_id for e in denied} == {theirs.id, abroad.id, 987654}
        assert AuditEvent.get(AuditEvent.action == "portal.homework.removed").target_id == gone.id
    html = portal_user.get("/portal/").get_data(as_text=True)
    assert "Bea" not in html and "Alan" not in html


CLINICIAN_PAGES = ["/", "/clients", "/clients/{a1}", "/clients/{a1}/notes/new", "/clients/{a1}/progress",
                   "/clients/{a1}/homework/new", "/notes/{note}", "/homework/{hw}", "/admin/members",
                   "/admin/audit", "/admin/note-templates", "/clients/new"]


def test_portal_session_reaches_no_clinician_page(world, portal_user):
    with in_db():
        note = ProgressEntry.select().first().note_id
    ids = {"a1": world.client_a1.id, "note": note, "hw": portal_user.homework_id}
    for url in CLINICIAN_PAGES:
        response = portal_user.get(url.format(**ids))
        assert response.status_code == 404, url
        assert "Lovelace" not in response.get_data(as_text=True)
    # Forged: no page the portal shows offers these.
    writes = [portal_user.forge(f"/clients/{world.client_a1.id}/homework", {"text": "Injected"}),
              portal_user.forge(f"/notes/{note}/sign"),
              portal_user.forge(f"/clients/{world.client_a1.id}/scores", {"instrument": "GAD-7", "score": "1"}),
              portal_user.forge(f"/clients/{world.client_a1.id}/portal-invitation", {"email": "x@example.org"}),
              portal_user.send(f"/clients/{world.client_a1.id}/notes", {"body": "x"}, htmx=True)]
    assert [r.status_code for r in writes] == [404] * len(writes)
    with in_db():
        assert Homework.select().count() == 1
        assert PortalInvitation.select().count() == 1


def test_clinician_accounts_are_not_portal_accounts(app, world, portal_user):
    c, response = portal_login(app, world.clin_a1.email, PASSWORD)
    assert response.status_code == 401 and "Wrong email or password." in response.get_data(as_text=True)
    assert c.get("/portal/").status_code == 302
    # ...and a portal account is not a clinician account.
    clinician = Browserless(app)
    assert clinician.login("ada@example.org", PORTAL_PASSWORD).status_code == 401
    c, response = portal_login(app, "ada@example.org")
    assert response.status_code == 303 and c.get("/portal/").status_code == 200
    with in_db():
        assert AuditEvent.select().where(AuditEvent.action == "portal.login.failure").count() == 1
        assert AuditEvent.select().where(AuditEvent.action == "portal.login.success").count() == 1


def test_clinician_session_is_not_a_portal_session(world, as_user, portal_user):
    c = as_user(world.clin_a1)
    response = c.get("/portal/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/login")
    hx = c.send(f"/portal/homework/{portal_user.homework_id}", {"status": "done"}, htmx=True)
    assert hx.status_code == 401 and hx.headers["HX-Redirect"].endswith("/portal/login")
    with in_db():
        assert Homework.get_by_id(portal_user.homework_id).status == "assigned"


def test_portal_login_is_rate_limited(app, world, portal_user):
    codes = [portal_login(app, "ada@example.org", "wrong password " + str(i))[1].status_code
             for i in range(6)]
    assert codes == [401] * 5 + [429]
    assert portal_login(app, "ada@example.org")[1].status_code == 429


def test_portal_sessions_are_server_side_idle_and_end_at_logout(app, world, portal_user):
    with portal_user.session_transaction() as sess:
        token = sess["portal_sid"]
        assert "sid" not in sess and "_user_id" not in sess
    with in_db():
        PortalSession.update(last_seen=utcnow() - app.config["SESSION_IDLE"] - dt.timedelta(minutes=2)
                             ).where(PortalSession.token == token).execute()
    assert portal_user.get("/portal/").status_code == 302
    with in_db():
        assert not PortalSession.select().where(PortalSession.token == token).exists()
    c, _ = portal_login(app, "ada@example.org")
    assert c.submit("/portal/", action="/portal/logout").status_code == 303
    assert c.get("/portal/").status_code == 302
    with in_db():
        assert PortalSession.select().count() == 0


def test_portal_writes_need_the_csrf_token(world, portal_user):
    response = portal_user.http.post(f"/portal/homework/{portal_user.homework_id}",
                                     data={"status": "done", "feedback": "no token"})
    assert response.status_code == 400
    with in_db():
        assert Homework.get_by_id(portal_user.homework_id).status == "assigned"


def test_revoking_access_ends_the_portal_session(world, as_user, portal_user):
    client_page = f"/clients/{world.client_a1.id}"
    assert as_user(world.clin_a1).submit(client_page, action=f"{client_page}/portal-access/revoke").status_code == 303
    assert portal_user.get("/portal/").status_code == 302
    with in_db():
        assert PortalAccount.get().active is False and PortalSession.select().count() == 0


def test_portal_page_shows_goal_target_progress(world, portal_user, as_user):
    as_user(world.clin_a1).submit(f"/clients/{world.client_a1.id}/progress",
                                  {"instrument": "GAD-7", "score": "8", "taken_on": "2025-03-03"})
    html = portal_user.get("/portal/").get_data(as_text=True)
    assert "target met on 03 Mar 2025" in html
    with in_db():
        assert Goal.get().target_met_on == dt.date(2025, 3, 3)


def test_clinician_sign_in_ends_a_portal_session_in_the_same_browser(world, app):
    from core import portal as portal_core
    from core.models import PortalSession
    with in_db():
        account = PortalAccount.create(client=world.client_a1.id, email="ada@example.org",
                                       password_hash="x")
        token = portal_core.start_session(account)
    c = Browserless(app)
    with c.session_transaction() as sess:
        sess["portal_sid"] = token
    assert c.login(world.clin_a1.email).status_code == 303
    with in_db():
        assert not PortalSession.select().where(PortalSession.token == token).exists()
