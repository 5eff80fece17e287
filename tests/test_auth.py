import datetime as dt

from werkzeug.security import generate_password_hash

from core import accounts
from core.db import utcnow
from core.models import AuditEvent, Invitation, User, UserSession
from tests.conftest import PASSWORD, Browserless, in_db


def test_first_run_creates_practice_and_admin_then_disappears(app, client):
    assert client.get("/").headers["Location"].endswith("/setup")
    response = client.submit("/setup", {"practice_name": "Calm Minds", "name": "Dana", "email": "Dana@Example.org",
                                      "password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 303
    assert client.get("/").status_code == 200  # signed in as the new admin
    with in_db():
        user = User.get(User.email == "dana@example.org")
        assert user.role == "admin" and user.practice.name == "Calm Minds"
        assert user.password_hash != PASSWORD
    assert client.get("/setup").status_code == 404
    assert Browserless(app).get("/setup").status_code == 404


def test_first_run_rejects_short_password(client):
    response = client.submit("/setup", {"practice_name": "P", "name": "D", "email": "d@example.org",
                                      "password": "short", "password_confirm": "short"})
    assert response.status_code == 422
    assert "at least 12 characters" in response.get_data(as_text=True)
    with in_db():
        assert User.select().count() == 0


def test_production_hash_is_slow_and_salted():
    first = generate_password_hash(PASSWORD, method="scrypt")
    assert first.startswith("scrypt:") and first != generate_password_hash(PASSWORD, method="scrypt")
    from app import load_config  # the default configuration keeps scrypt
    from flask import Flask
    import tempfile
    flask_app = Flask("probe", instance_path=tempfile.mkdtemp())
    load_config(flask_app, None)
    assert flask_app.config["PASSWORD_METHOD"] == "scrypt"


def test_login_success_rotates_session_and_audits(world, client):
    client.get("/login")
    with client.session_transaction() as sess:
        sess["sid"] = "attacker-chosen"
    response = client.login(world.clin_a1.email)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    with client.session_transaction() as sess:
        assert sess["sid"] != "attacker-chosen"
        sid = sess["sid"]
    with in_db():
        assert UserSession.get(UserSession.token == sid).user_id == world.clin_a1.id
        assert AuditEvent.select().where(AuditEvent.action == "login.success").count() == 1


def test_wrong_password_and_unknown_email_get_same_generic_message(world, client):
    wrong = client.login(world.clin_a1.email, "not the password at all")
    unknown = client.login("nobody@example.org", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong email or password." in response.get_data(as_text=True)
    with in_db():
        failures = list(AuditEvent.select().where(AuditEvent.action == "login.failure"))
        assert len(failures) == 2
        assert all(PASSWORD not in (e.detail or "") for e in failures)


def test_login_is_rate_limited_per_account(world, app):
    for i in range(5):
        assert Browserless(app).login(world.clin_a1.email, f"wrong password {i}").status_code == 401
    # A sixth try, even with the right password and from a fresh browser, is refused.
    response = Browserless(app).login(world.clin_a1.email)
    assert response.status_code == 429
    # Other accounts are not locked out by it.
    assert Browserless(app).login(world.clin_a2.email).status_code == 303


def test_login_is_rate_limited_per_address(world, app):
    c = Browserless(app)
    for i in range(20):
        assert c.login(f"someone{i}@example.org", "wrong password here").status_code == 401
    assert c.login(world.clin_a1.email).status_code == 429


def test_logout_ends_session_on_server(world, as_user):
    c = as_user(world.clin_a1)
    with c.session_transaction() as sess:
        stolen = dict(sess)
    assert c.submit("/clients", action="/logout").status_code == 303
    with in_db():
        assert UserSession.select().count() == 0
    # Replaying the old cookie contents does not bring the session back.
    with c.session_transaction() as sess:
        sess.update(stolen)
    assert c.get("/clients").status_code == 302


def test_idle_timeout_ends_session(world, as_user):
    c = as_user(world.clin_a1)
    assert c.get("/clients").status_code == 200
    with in_db():
        UserSession.update(last_seen=utcnow() - dt.timedelta(minutes=32)).execute()
    response = c.get("/clients")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with in_db():
        assert UserSession.select().count() == 0


def test_htmx_request_after_expiry_gets_hx_redirect(world, as_user):
    c = as_user(world.clin_a1)
    with in_db():
        UserSession.delete().execute()
    response = c.get("/clients?q=ad", headers={"HX-Request": "true",
                                               "HX-Current-URL": "http://localhost/clients"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=/clients")
    assert "<form" not in response.get_data(as_text=True)


def test_deactivated_member_is_signed_out_at_once(world, as_user):
    member = as_user(world.clin_a2)
    admin = as_user(world.admin_a)
    assert member.get("/clients").status_code == 200
    assert admin.submit("/admin/members", action=f"/admin/members/{world.clin_a2.id}/deactivate").status_code == 303
    assert member.get("/clients").status_code == 302
    assert Browserless(admin.app).login(world.clin_a2.email).status_code == 401


def test_admin_cannot_deactivate_other_practice_member(world, as_user):
    admin = as_user(world.admin_a)
    # A forged request: the members page offers no form for another practice's member.
    assert admin.forge(f"/admin/members/{world.clin_b.id}/deactivate").status_code == 404
    with in_db():
        assert User.get_by_id(world.clin_b.id).active


def test_clinician_cannot_open_admin_pages(world, as_user):
    c = as_user(world.clin_a1)
    assert c.get("/admin/members").status_code == 404
    assert c.get("/admin/audit").status_code == 404
    assert c.forge(f"/admin/members/{world.clin_a2.id}/deactivate").status_code == 404  # no page offers it


def test_invitation_is_single_use_and_expires(world, as_user, app):
    admin = as_user(world.admin_a)
    page = admin.submit("/admin/members", {"email": "new@example.org", "name": "Noor"},
                        action="/admin/members/invite")
    assert page.status_code == 200
    link = page.get_data(as_text=True).split('readonly value="')[1].split('"')[0]
    path = "/invitations/" + link.rsplit("/", 1)[1]
    newcomer = Browserless(app)
    assert newcomer.get(path).status_code == 200
    short = newcomer.submit(path, {"name": "Noor", "password": "short", "password_confirm": "short"})
    assert short.status_code == 422
    done = newcomer.submit(path, {"name": "Noor", "password": PASSWORD, "password_confirm": PASSWORD})
    assert done.status_code == 303
    assert newcomer.get("/clients").status_code == 200
    # The link is used up, so its page is gone: a late visitor can only send a remembered form.
    again = Browserless(app).forge(path, {"name": "Eve", "password": PASSWORD,
                                          "password_confirm": PASSWORD})
    assert again.status_code == 404
    with in_db():
        user = User.get(User.email == "new@example.org")
        assert user.practice_id == world.practice_a and user.role == "clinician"
        token = accounts.invite(User.get_by_id(world.admin_a.id), "late@example.org")
        Invitation.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            Invitation.email == "late@example.org").execute()
    assert Browserless(app).get(f"/invitations/{token}").status_code == 404


def test_next_accepts_only_same_site_paths(world, app):
    for evil in ["//evil.example", "/\\evil.example", "https://evil.example/", "/\t/evil.example",
                 "javascript:alert(1)", "/%5Cevil"]:
        c = Browserless(app)
        response = c.http.post("/login", data={"email": world.clin_a1.email, "password": PASSWORD,
                                               "next": evil, "csrf_token": c.csrf_token()})
        location = response.headers["Location"]
        assert location in ("/", "/%5Cevil"), (evil, location)
    c = Browserless(app)
    response = c.http.post("/login", data={"email": world.clin_a1.email, "password": PASSWORD,
                                           "next": "/clients?q=ada", "csrf_token": c.csrf_token()})
    assert response.headers["Location"] == "/clients?q=ada"


def test_unauthenticated_page_redirects_to_login_with_next(world, client):
    response = client.get("/clients?q=x")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/clients?q%3Dx"
