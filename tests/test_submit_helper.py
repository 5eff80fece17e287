"""The test client's plain-form helper posts only what the page's form holds."""
from conftest import in_db
from core.models import Client


def test_submit_posts_the_new_client_form_with_its_own_token(world, as_user):
    c = as_user(world.clin_a1)
    response = c.submit("/clients/new", {"first_name": "Mary", "last_name": "Shelley"})
    assert response.status_code == 303
    with in_db():
        assert Client.get_or_none(Client.first_name == "Mary") is not None


def test_a_form_without_its_token_is_refused(world, as_user):
    c = as_user(world.clin_a1)
    response = c.http.post("/clients/new", data={"first_name": "Mary", "last_name": "Shelley"})
    assert response.status_code == 400
    with in_db():
        assert Client.get_or_none(Client.first_name == "Mary") is None
