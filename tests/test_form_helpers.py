"""The test client's own honesty: a plain post carries only what the page's form holds, and
nothing adds a CSRF token the page did not have."""
import pytest
from werkzeug.wrappers import Response

from core.models import Client
from tests.conftest import in_db, parse_forms, pick_form


def test_send_refuses_a_plain_post(world, as_user):
    c = as_user(world.clin_a1)
    with pytest.raises(AssertionError, match="submit"):
        c.send("/clients/new", {"first_name": "Mary", "last_name": "Shelley"})


def test_a_page_whose_form_lacks_the_token_fails_the_submit(world, as_user):
    """If a template lost its hidden CSRF input, submit() must not paper over it."""
    c = as_user(world.clin_a1)
    broken = Response('<form method="post" action="/clients/new">'
                      '<input name="first_name"><input name="last_name"></form>')
    response = c.submit("/clients/new", {"first_name": "Mary", "last_name": "Shelley"}, page=broken)
    assert response.status_code == 400
    with in_db():
        assert not Client.select().where(Client.last_name == "Shelley").exists()


def test_a_key_the_form_does_not_have_fails_the_test(world, as_user):
    c = as_user(world.clin_a1)
    with pytest.raises(AssertionError, match="not fields of the form"):
        c.submit("/clients/new", {"first_name": "Mary", "last_name": "Shelley", "practice": "2"})


def test_parse_forms_reads_fields_as_a_browser_sends_them():
    html = """
    <form id="f" method="post" action="/save">
      <input type="hidden" name="csrf_token" value="t">
      <input name="title" value="Kept">
      <input name="locked" value="x" disabled>
      <input type="checkbox" name="tick" value="1" checked><input type="checkbox" name="tick" value="2">
      <textarea name="body">
line</textarea>
      <select name="pick"><option value="a">A</option><option value="b" selected>B</option></select>
      <select name="first"><option>One</option><option>Two</option></select>
      <button name="status" value="done">Done</button>
      <button formaction="/save/remove">Remove</button>
    </form>
    <button form="f" formaction="/save/elsewhere" name="why" value="outside">Elsewhere</button>
    <form method="post" action="/logout"></form>"""
    forms = parse_forms(html)
    save = pick_form(forms, "/save", "/page")
    assert list(save.values({}).items(multi=True)) == [
        ("csrf_token", "t"), ("title", "Kept"), ("tick", "1"), ("body", "line"), ("pick", "b"),
        ("first", "One")]
    assert save.values({"tick": [], "status": "done"}).getlist("tick") == []
    assert save.values({"status": "done"})["status"] == "done"
    removed = pick_form(forms, "/save/remove", "/page")
    assert removed.values({})["title"] == "Kept" and "status" not in removed.values({})
    elsewhere = pick_form(forms, "/save/elsewhere", "/page")
    assert elsewhere.values({})["why"] == "outside"
    with pytest.raises(AssertionError):
        save.values({"locked": "y"})  # a disabled field cannot be filled in
