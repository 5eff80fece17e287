from core.models import AuditEvent
from tests.conftest import in_db


def test_audit_log_pages_and_filters_within_practice(world, as_user):
    as_user(world.clin_a1).get(f"/clients/{world.client_a1.id}")
    as_user(world.clin_b).get(f"/clients/{world.client_a1.id}")  # denied, logged in practice B
    admin = as_user(world.admin_a)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "client.view" in page and "login.success" in page
    assert "Clin_B" not in page
    filtered = admin.get("/admin/audit?action=client.").get_data(as_text=True)
    assert "client.view" in filtered and "login.success" not in filtered
    with in_db():
        for _ in range(60):
            AuditEvent.create(action="test.filler", practice=world.practice_a)
    first = admin.get("/admin/audit?action=test.").get_data(as_text=True)
    assert "Older" in first
    second = admin.get("/admin/audit?action=test.&page=2").get_data(as_text=True)
    assert second.count("test.filler") == 10 and "Newer" in second


def test_audit_log_never_holds_passwords(world, client):
    client.login(world.clin_a1.email, "my secret typo password")
    client.login(world.clin_a1.email)
    with in_db():
        for event in AuditEvent.select():
            assert "secret" not in event.detail and "horse" not in event.detail
