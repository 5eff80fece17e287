import re

import pytest

from core.models import AuditEvent, CareTeamMember, Client
from tests.conftest import in_db


def _denied_count(target_id):
    return (AuditEvent.select().where((AuditEvent.action == "access.denied")
                                      & (AuditEvent.target_id == target_id)).count())


def test_create_edit_list_and_search(world, as_user):
    c = as_user(world.clin_a1)
    response = c.submit("/clients/new", {"first_name": "Mary", "last_name": "Shelley",
                                       "presenting_problem": "grief", "care_team": [world.clin_a2.id]})
    assert response.status_code == 303
    with in_db():
        mary = Client.get(Client.last_name == "Shelley")
        assert mary.practice_id == world.practice_a and mary.primary_clinician_id == world.clin_a1.id
        assert [m.user_id for m in CareTeamMember.select().where(CareTeamMember.client == mary)] == [world.clin_a2.id]
    listing = c.get("/clients").get_data(as_text=True)
    assert "Shelley, Mary" in listing and "Lovelace, Ada" in listing
    assert "Hopper" not in listing and "Turing" not in listing
    found = c.hx_get("/clients?q=shel")
    assert found.headers["Vary"] == "HX-Request" or "HX-Request" in found.headers["Vary"]
    text = found.get_data(as_text=True)
    assert text.startswith('<div id="client-rows">') and "Shelley" in text and "Lovelace" not in text
    edit = c.submit(f"/clients/{mary.id}/edit", {"first_name": "Mary W.", "care_team": []})
    assert edit.status_code == 303
    with in_db():
        assert Client.get_by_id(mary.id).first_name == "Mary W."
        assert CareTeamMember.select().where(CareTeamMember.client == mary.id).count() == 0


def test_validation_keeps_input(world, as_user):
    c = as_user(world.clin_a1)
    response = c.submit("/clients/new", {"first_name": "", "last_name": "Keats", "date_of_birth": "1795-13-45"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'value="Keats"' in text and "Use the form YYYY-MM-DD." in text and "Required." in text


def test_cannot_assign_clinician_of_other_practice(world, as_user):
    c = as_user(world.clin_a1)
    # Forged: the form offers only colleagues of this practice.
    response = c.forge("/clients/new", {"first_name": "X", "last_name": "Y",
                                       "primary_clinician": world.clin_b.id,
                                       "care_team": [world.clin_b.id]})
    assert response.status_code == 422
    with in_db():
        assert not Client.select().where(Client.last_name == "Y").exists()


def test_discharge_and_reactivate(world, as_user):
    c = as_user(world.clin_a1)
    assert c.submit(f"/clients/{world.client_a1.id}", action=f"/clients/{world.client_a1.id}/discharge").status_code == 303
    assert "Lovelace, Ada" not in c.get("/clients").get_data(as_text=True)
    assert "Lovelace" in c.get("/clients?status=discharged").get_data(as_text=True)
    assert c.submit(f"/clients/{world.client_a1.id}", action=f"/clients/{world.client_a1.id}/reactivate").status_code == 303
    with in_db():
        assert Client.get_by_id(world.client_a1.id).status == "active"


def test_admin_sees_whole_practice_only(world, as_user):
    listing = as_user(world.admin_a).get("/clients").get_data(as_text=True)
    assert "Lovelace" in listing and "Hopper" in listing and "Turing" not in listing


def test_care_team_member_sees_client(world, as_user):
    with in_db():
        CareTeamMember.create(client=world.client_a1.id, user=world.clin_a2.id)
    c = as_user(world.clin_a2)
    assert c.get(f"/clients/{world.client_a1.id}").status_code == 200
    assert "Lovelace" in c.get("/clients").get_data(as_text=True)


@pytest.mark.parametrize("who,target", [("clin_b", "client_a1"), ("admin_b", "client_a1"),
                                        ("clin_a2", "client_a1"), ("clin_a1", "client_b"),
                                        ("admin_a", "client_b")])
def test_outside_scope_is_404_unchanged_and_audited(world, as_user, who, target):
    user, client = getattr(world, who), getattr(world, target)
    c = as_user(user)
    with in_db():
        before = Client.get_by_id(client.id).__data__.copy()
    attempts = [c.get(f"/clients/{client.id}"), c.get(f"/clients/{client.id}/edit"),
                # Forged: this user has no page for the client.
                c.forge(f"/clients/{client.id}/edit", {"first_name": "Hacked", "last_name": "Hacked"}),
                c.forge(f"/clients/{client.id}/discharge"),
                c.send(f"/clients/{client.id}/discharge", htmx=True)]
    assert [r.status_code for r in attempts] == [404] * 5
    missing = c.get("/clients/987654")
    assert missing.status_code == 404
    # Identical to a record that does not exist (the CSRF token's timestamp aside).
    strip = lambda r: re.sub(r'("X-CSRFToken": |name="csrf_token" value=)"[^"]+"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(missing) == strip(attempts[0])
    with in_db():
        assert Client.get_by_id(client.id).__data__ == before
        assert _denied_count(client.id) == 5
        event = AuditEvent.get(AuditEvent.action == "access.denied")
        assert event.user_id == user.id and event.target_type == "client"


def test_client_view_is_audited(world, as_user):
    as_user(world.clin_a1).get(f"/clients/{world.client_a1.id}")
    with in_db():
        event = AuditEvent.get(AuditEvent.action == "client.view")
        assert (event.user_id, event.target_id, event.practice_id) == (
            world.clin_a1.id, world.client_a1.id, world.practice_a)
