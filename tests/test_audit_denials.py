"""Every refusal is in the audit log: in the actor's practice, and in the practice that owns the
record when that is another one (its admin sees the probing). Viewing the log is audited;
publishing a template is a publication; the plan export names the client and the format."""
import pytest

from core import library
from core.accounts import hash_password
from core.models import AuditEvent, PortalAccount, Template, User
from tests.conftest import PASSWORD, Browserless, in_db
from tests.test_library import make_source
from tests.test_notes import make_plan


def events(action, **where):
    with in_db():
        query = AuditEvent.select().where(AuditEvent.action == action)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(query.order_by(AuditEvent.id))


def test_portal_session_on_clinician_pages_is_audited(app, world):
    with in_db():
        account = PortalAccount.create(client=world.client_a1.id, email="ada@example.org",
                                       password_hash=hash_password(PASSWORD))
    c = Browserless(app)
    assert c.submit("/portal/login", {"email": "ada@example.org", "password": PASSWORD}
                    ).status_code == 303
    for url in ("/clients", f"/clients/{world.client_a1.id}", "/admin/audit"):
        assert c.get(url).status_code == 404
    denied = events("access.denied", practice=world.practice_a)
    assert [(e.target_type, e.target_id) for e in denied] == [("portal_account", account.id)] * 3
    assert "/admin/audit" in denied[-1].detail and "portal session" in denied[-1].detail


@pytest.mark.parametrize("url", ["/admin/members", "/admin/audit", "/admin/note-templates",
                                 "/admin/measures"])
def test_non_admins_on_admin_pages_are_audited(world, as_user, url):
    assert as_user(world.clin_a1).get(url).status_code == 404
    (event,) = events("access.denied", user=world.clin_a1.id)
    assert event.practice_id == world.practice_a
    assert event.detail == f"not an admin: GET {url}"


def test_admin_acting_on_another_practices_member_is_audited_in_both(world, as_user):
    admin = as_user(world.admin_a)
    # No page offers this: an admin of A hand-makes a post for a member of B.
    response = admin.forge(f"/admin/members/{world.clin_b.id}/deactivate")
    assert response.status_code == 404
    with in_db():
        assert User.get_by_id(world.clin_b.id).active
    (own,) = events("access.denied", user=world.admin_a.id)
    assert (own.practice_id, own.target_type, own.target_id) == (
        world.practice_a, "user", world.clin_b.id)
    (theirs,) = events("access.denied.external", user=world.admin_a.id)
    assert (theirs.practice_id, theirs.target_type, theirs.target_id) == (
        world.practice_b, "user", world.clin_b.id)
    assert theirs.detail == f"from practice {world.practice_a}; member deactivate"
    # Admin B finds it in their own log with the usual filter.
    page = as_user(world.admin_b).get("/admin/audit?action=access.denied").get_data(as_text=True)
    assert "access.denied.external" in page and f"user #{world.clin_b.id}" in page


def test_probing_another_practices_client_shows_in_that_practice(world, as_user):
    assert as_user(world.clin_b).get(f"/clients/{world.client_a1.id}").status_code == 404
    assert [e.practice_id for e in events("access.denied", user=world.clin_b.id)] == [
        world.practice_b]
    assert [e.practice_id for e in events("access.denied.external", user=world.clin_b.id)] == [
        world.practice_a]
    # A colleague without access in the same practice, or a record that does not exist: only
    # the actor's practice.
    c = as_user(world.clin_a2)
    assert c.get(f"/clients/{world.client_a1.id}").status_code == 404
    assert c.get("/clients/987654").status_code == 404
    assert len(events("access.denied", user=world.clin_a2.id)) == 2
    assert not events("access.denied.external", user=world.clin_a2.id)


def test_portal_probing_another_practices_homework_shows_there(app, world):
    from core.models import Homework
    with in_db():
        PortalAccount.create(client=world.client_a1.id, email="ada@example.org",
                             password_hash=hash_password(PASSWORD))
        abroad = Homework.create(client=world.client_b.id, text="Alan's homework")
    c = Browserless(app)
    assert c.submit("/portal/login", {"email": "ada@example.org", "password": PASSWORD}
                    ).status_code == 303
    assert c.forge(f"/portal/homework/{abroad.id}", {"status": "done"}).status_code == 404
    (event,) = events("access.denied.external", practice=world.practice_b)
    assert (event.target_type, event.target_id) == ("homework", abroad.id)
    assert event.detail.startswith(f"from practice {world.practice_a}; portal account")


def test_viewing_the_audit_log_is_audited(world, as_user):
    admin = as_user(world.admin_a)
    assert admin.get("/admin/audit?action=login&page=2").status_code == 200
    (event,) = events("audit.view")
    assert (event.user_id, event.practice_id) == (world.admin_a.id, world.practice_a)
    assert "page 2" in event.detail and "'login'" in event.detail


def test_publishing_a_template_warns_and_is_audited(world, as_user):
    with in_db():
        template = library.create_template(world.clin_a1, make_source(title="My worry plan"))
    owner = as_user(world.clin_a1)
    page = owner.get(f"/library/{template.id}").get_data(as_text=True)
    assert "must hold no client information" in page
    response = owner.submit(f"/library/{template.id}", {"visibility": "practice"},
                            action=f"/library/{template.id}/visibility")
    assert response.status_code == 303 and not events("template.publish")
    response = owner.submit(f"/library/{template.id}", {"visibility": "public"},
                            action=f"/library/{template.id}/visibility")
    assert response.status_code == 303
    (event,) = events("template.publish")
    assert (event.user_id, event.target_id, event.detail) == (
        world.clin_a1.id, template.id, "practice -> public")
    with in_db():
        assert Template.get_by_id(template.id).visibility == "public"
    assert "must hold no client information" in owner.get("/library/new").get_data(as_text=True)


def test_creating_a_public_template_is_a_publication(world):
    with in_db():
        template = library.create_template(world.clin_a1, make_source(), "public")
    (event,) = events("template.publish")
    assert event.target_id == template.id


def test_plan_export_names_client_and_format(world, as_user):
    plan, _goals = make_plan(world.client_a1)
    response = as_user(world.clin_a1).get(f"/plans/{plan.id}/export.md")
    assert response.status_code == 200
    (event,) = events("plan.export")
    assert (event.target_type, event.target_id) == ("plan", plan.id)
    assert event.detail == f"client {world.client_a1.id}; format markdown"


def test_importing_public_templates_is_a_publication(world, as_user):
    c = as_user(world.clin_a1)
    page = c.get("/library/import").get_data(as_text=True)
    assert "must hold no client information" in page
    from core import library_io
    with in_db():
        report = library_io.check_files([("a.md", make_source(title="Imported").encode())])
        library_io.store_checked(world.clin_a1, report, "public")
    assert len(events("template.import")) == 1
    (event,) = events("template.publish")
    assert event.detail == "imported 1 templates as public"
