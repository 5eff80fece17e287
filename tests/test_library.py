"""The library in the browser's terms: who sees and edits what across two practices, the template
page, the editor (preview, save, 409, 422), fork lineage, visibility and diff."""
import re

import pytest

from core import library
from core.library_browse import PER_PAGE, Filters, browse
from core.models import AuditEvent, Template, TemplateTag, TemplateVersion
from tests.conftest import count_queries, in_db


def make_source(title="Worry plan", problem="anxiety", tags=("CBT", "worry"), goal="Reduce worry",
                homework="Keep a daily worry log", extra=""):
    tag_list = ", ".join(tags)
    return f"""---
title: {title}
problem: {problem}
tags: [{tag_list}]
measures: [GAD-7]
summary: A plan for {problem}.
---

## Problem

Persistent worry most days.{extra}

## Goal: {goal}

- Measure: GAD-7
- Target: GAD-7 below 10
- Timeframe: 12 weeks

### Objectives

- Name three worry triggers within 2 weeks

### Homework

- {homework}
"""


def add_template(user, visibility="private", **kwargs):
    with in_db():
        return library.create_template(user, make_source(**kwargs), visibility)


def row(template_id):
    with in_db():
        return Template.get_by_id(template_id)


def snapshot(template_id):
    with in_db():
        t = Template.get_by_id(template_id)
        versions = [(v.number, v.source) for v in
                    TemplateVersion.select().where(TemplateVersion.template == template_id)]
        return (t.visibility, t.current_version, t.title, t.fork_count, t.updated_at, versions)


@pytest.fixture
def lib(world):
    """A private, a practice and a public template of clin_a1, and a practice one in B."""
    return {
        "private": add_template(world.clin_a1, "private", title="Private plan"),
        "practice": add_template(world.clin_a1, "practice", title="Practice plan"),
        "public": add_template(world.clin_a1, "public", title="Public plan"),
        "b_practice": add_template(world.clin_b, "practice", title="B practice plan"),
    }


# --- visibility across practices ---------------------------------------------------------------

SEES = {
    # who: templates they may see
    "clin_a1": {"private", "practice", "public"},
    "clin_a2": {"practice", "public"},
    "admin_a": {"practice", "public"},
    "clin_b": {"public", "b_practice"},
    "admin_b": {"public", "b_practice"},
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_user_sees_exactly_their_scope(world, lib, as_user, who):
    c = as_user(getattr(world, who))
    page = c.get("/library").get_data(as_text=True)
    for key, template in lib.items():
        visible = key in SEES[who]
        assert (f'href="/library/{template.id}"' in page) == visible, (who, key)
        response = c.get(f"/library/{template.id}")
        assert response.status_code == (200 if visible else 404), (who, key)
        assert (template.title in response.get_data(as_text=True)) == visible


@pytest.mark.parametrize("who,key", [("clin_a2", "private"), ("admin_a", "private"),
                                     ("clin_b", "practice"), ("admin_b", "private"),
                                     ("clin_a1", "b_practice")])
def test_invisible_template_is_404_for_every_url_and_method_and_unchanged(world, lib, as_user,
                                                                           who, key):
    c = as_user(getattr(world, who))
    tid = lib[key].id
    before = snapshot(tid)
    source = make_source(title="Hijacked")
    for url in (f"/library/{tid}", f"/library/{tid}?version=1", f"/library/{tid}/edit",
                f"/library/{tid}/diff", f"/library/{tid}/diff?a=1&b=1",
                f"/library/{tid}/diff/upstream", f"/library/{tid}/export"):
        assert c.get(url).status_code == 404, url
        assert c.hx_get(url).status_code == 404, url
    for url, data in ((f"/library/{tid}/edit", {"source": source, "based_on": 1}),
                      (f"/library/{tid}/fork", {}),
                      (f"/library/{tid}/visibility", {"visibility": "public"})):
        assert c.forge(url, data).status_code == 404, url  # forged: no page is open to them
        assert c.send(url, data, htmx=True).status_code == 404, url
    assert snapshot(tid) == before
    with in_db():
        assert AuditEvent.select().where((AuditEvent.action == "access.denied")
                                         & (AuditEvent.target_id == tid)).count() >= 10
        assert not Template.select().where(Template.forked_from == tid).exists()
    # The zip export silently leaves out what the user cannot see.
    response = c.get(f"/library/export?ids={tid}")
    assert response.status_code == 200 and b"Private plan" not in response.data


@pytest.mark.parametrize("who,key", [("clin_a2", "practice"), ("clin_a2", "public"),
                                     ("clin_b", "public"), ("admin_b", "public")])
def test_visible_but_not_theirs_cannot_edit_or_share(world, lib, as_user, who, key):
    c = as_user(getattr(world, who))
    tid = lib[key].id
    before = snapshot(tid)
    page = c.get(f"/library/{tid}").get_data(as_text=True)
    assert f'/library/{tid}/edit"' not in page and "Save sharing" not in page
    assert c.get(f"/library/{tid}/edit").status_code == 404
    # Forged: neither the editor nor the sharing form is offered to them.
    assert c.forge(f"/library/{tid}/edit", {"source": make_source(title="Mine now"),
                                            "based_on": 1}).status_code == 404
    assert c.forge(f"/library/{tid}/visibility", {"visibility": "private"}).status_code == 404
    assert snapshot(tid) == before


def test_admin_edits_and_shares_practice_templates_of_own_practice_only(world, lib, as_user):
    c = as_user(world.admin_a)
    tid = lib["practice"].id
    page = c.get(f"/library/{tid}").get_data(as_text=True)
    assert f'/library/{tid}/edit"' in page and "Save sharing" in page
    response = c.submit(f"/library/{tid}/edit", {"source": make_source(title="Curated plan")})
    assert response.status_code == 303
    assert c.submit(f"/library/{tid}", {"visibility": "public"},
                    action=f"/library/{tid}/visibility").status_code == 303
    t = row(tid)
    assert (t.title, t.current_version, t.visibility, t.owner_id) == (
        "Curated plan", 2, "public", world.clin_a1.id)
    # Public templates of another practice are not the admin's to curate.
    b = as_user(world.admin_b)
    assert b.get(f"/library/{tid}/edit").status_code == 404
    assert b.forge(f"/library/{tid}/visibility", {"visibility": "private"}).status_code == 404  # forged
    assert row(tid).visibility == "public"


def test_owner_shares_with_practice_and_colleague_then_sees_it(world, as_user):
    template = add_template(world.clin_a1, "private", title="Shared later")
    colleague = as_user(world.clin_a2)
    assert colleague.get(f"/library/{template.id}").status_code == 404
    owner = as_user(world.clin_a1)
    response = owner.submit(f"/library/{template.id}", {"visibility": "practice"},
                            action=f"/library/{template.id}/visibility")
    assert response.status_code == 303
    assert colleague.get(f"/library/{template.id}").status_code == 200
    assert "Shared later" in colleague.get("/library?scope=practice").get_data(as_text=True)
    assert as_user(world.clin_b).get(f"/library/{template.id}").status_code == 404
    # Forged: the form offers no such choice.
    assert owner.forge(f"/library/{template.id}/visibility", {"visibility": "everyone"}).status_code == 400
    with in_db():
        event = AuditEvent.get(AuditEvent.action == "template.visibility")
        assert (event.target_id, event.detail) == (template.id, "private -> practice")


def test_writes_need_csrf(world, lib, as_user):
    c = as_user(world.clin_a1)
    tid = lib["private"].id
    before = snapshot(tid)
    for url, data in ((f"/library/{tid}/fork", {}), (f"/library/{tid}/visibility",
                                                     {"visibility": "public"}),
                      (f"/library/{tid}/edit", {"source": make_source(title="X"), "based_on": 1}),
                      ("/library/new", {"source": make_source(title="X")}),
                      ("/library/preview", {"source": make_source(title="X")}),
                      ("/library/import", {"pasted": make_source(title="X")}),
                      ("/library/import/confirm", {"name": "x.md", "source": make_source()})):
        assert c.http.post(url, data=data).status_code == 400, url
    assert snapshot(tid) == before
    with in_db():
        assert Template.select().count() == 4


# --- the library page -------------------------------------------------------------------------

def test_library_page_shows_cards_and_search_returns_only_results_fragment(world, lib, as_user):
    c = as_user(world.clin_a2)
    page = c.get("/library")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'id="library-q"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html and 'hx-push-url="true"' in html
    card = html[html.index(f'id="template-card-{lib["practice"].id}"'):]
    card = card[:card.index("</article>")]
    for text in ("Practice plan", "anxiety", "CBT", "worry", "by Clin_A1", "used 0 times", "0 forks"):
        assert text in card, text
    fragment = c.hx_get("/library?q=practice")
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section id="library-results"')
    assert "Practice plan" in body and "Public plan" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    # A reload of the pushed URL is the full page with the search filled in.
    reload = c.get("/library?q=practice").get_data(as_text=True)
    assert "<html" in reload and 'value="practice"' in reload and "Public plan" not in reload


def test_library_page_makes_a_fixed_number_of_queries(world, as_user):
    c = as_user(world.clin_a1)
    for i in range(3):
        add_template(world.clin_a1, "public", title=f"Plan {i}", tags=(f"t{i}", "x", "y"))
    c.get("/library")  # the first request of the app checks for first-run setup once
    with count_queries() as few:
        assert c.hx_get("/library?q=plan").status_code == 200
    with count_queries() as few_page:
        assert c.get("/library").status_code == 200
    for i in range(3, PER_PAGE + 6):
        add_template(world.clin_a1, "public", title=f"Plan {i}", tags=(f"t{i}", "x", "y"))
    with count_queries() as many:
        body = c.hx_get("/library?q=plan").get_data(as_text=True)
    with count_queries() as many_page:
        c.get("/library")
    assert body.count('class="card template-card"') == PER_PAGE and 'rel="next"' in body
    assert many.count == few.count and many_page.count == few_page.count
    assert not any("COUNT(" in sql.upper() and "template_tag" not in sql for sql in many.statements)
    # Cards, owners and tags come in one query; the rest is the session's user.
    assert sum('FROM "template"' in sql for sql in many.statements) == 1, many.statements
    page_two = c.hx_get("/library?q=plan&page=2").get_data(as_text=True)
    assert page_two.count('class="card template-card"') == 6 and 'rel="prev"' in page_two


def test_pager_walks_the_whole_search_without_gaps_or_repeats(world, as_user):
    for i in range(PER_PAGE * 2 + 1):
        add_template(world.clin_a1, "public", title=f"Paged {i}", tags=("paged",))
    c = as_user(world.clin_b)
    seen, url = [], "/library?q=paged"
    while url:
        body = c.hx_get(url).get_data(as_text=True)
        seen += re.findall(r'id="template-card-(\d+)"', body)
        follow = re.search(r'<a href="([^"]+)" rel="next">', body)
        url = follow and follow.group(1).replace("&amp;", "&")
        if url:  # the next page is a real page too, with the same cards
            full = c.get(url).get_data(as_text=True)
            assert "<html" in full and re.findall(r'id="template-card-(\d+)"', full) == \
                re.findall(r'id="template-card-(\d+)"', c.hx_get(url).get_data(as_text=True))
    assert len(seen) == len(set(seen)) == PER_PAGE * 2 + 1


def test_cards_show_tags_in_order_as_escaped_filter_links(world, as_user):
    template = add_template(world.clin_a1, "public", title="<b>Bold</b> & plan",
                            tags=("Zeta", "alpha", "R&D", "a/b c", "<i>x</i>"))
    with in_db():
        Template.update(summary="<script>alert(1)</script>").where(
            Template.id == template.id).execute()
    c = as_user(world.clin_b)
    body = c.hx_get("/library?q=bold").get_data(as_text=True)
    card = body[body.index(f'id="template-card-{template.id}"'):]
    card = card[:card.index("</article>")]
    links = re.findall(r'<a class="badge" href="([^"]+)">([^<]+)</a>', card)
    assert links == [("/library?tag=Zeta", "Zeta"), ("/library?tag=alpha", "alpha"),
                     ("/library?tag=R%26D", "R&amp;D"), ("/library?tag=a/b%20c", "a/b c"),
                     ("/library?tag=%3Ci%3Ex%3C/i%3E", "&lt;i&gt;x&lt;/i&gt;")]
    assert f'<a href="/library/{template.id}">&lt;b&gt;Bold&lt;/b&gt; &amp; plan</a>' in card
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert "by Clin_A1" in card and "yours" not in card
    for href, _text in links:  # every tag link finds the template
        assert f'id="template-card-{template.id}"' in c.hx_get(href).get_data(as_text=True)
    assert "yours" in as_user(world.clin_a1).hx_get("/library?q=bold").get_data(as_text=True)


def test_filters_scope_problem_tag_and_sort(world, as_user):
    mine = add_template(world.clin_a1, "private", title="Mine", problem="grief", tags=("loss",))
    shared = add_template(world.clin_a2, "practice", title="Colleague's", problem="anxiety",
                          tags=("CBT",))
    public = add_template(world.clin_b, "public", title="From B", problem="anxiety",
                          tags=("CBT", "exposure"))
    with in_db():
        Template.update(uses=5).where(Template.id == shared.id).execute()
        Template.update(fork_count=9).where(Template.id == public.id).execute()
    c = as_user(world.clin_a1)

    def titles(query):
        body = c.hx_get("/library" + query).get_data(as_text=True)
        return re.findall(r'<h3><a href="/library/\d+">([^<]+)</a></h3>', body)

    assert titles("?scope=mine") == ["Mine"]
    assert titles("?scope=practice") == ["Colleague&#39;s"]
    assert titles("?scope=public") == ["From B"]
    assert set(titles("")) == {"Mine", "Colleague&#39;s", "From B"}
    assert set(titles("?problem=anxiety")) == {"Colleague&#39;s", "From B"}
    assert titles("?tag=exposure") == ["From B"]
    assert titles("?tag=loss&scope=public") == []
    assert titles("?sort=used")[0] == "Colleague&#39;s"
    assert titles("?sort=forked")[0] == "From B"
    assert titles("?sort=newest") == ["From B", "Colleague&#39;s", "Mine"]
    assert titles("?sort=bogus&scope=bogus&page=x")  # bad values fall back to the defaults
    assert titles("?page=%C2%B2") and titles("?page=999999") == []
    assert c.get("/library/export?ids=%C2%B2").status_code == 303
    page = c.get("/library").get_data(as_text=True)
    assert '<option value="grief">' in page and '<option value="exposure">' in page


# --- the template page ------------------------------------------------------------------------

def test_template_page_shows_stored_html_metadata_versions_and_actions(world, as_user):
    template = add_template(world.clin_a1, "practice", title="Stored", extra="\n\nSee *this*.")
    with in_db():
        # Views print the html stored at save time; they never render the source again.
        TemplateVersion.update(html="<p>STORED-HTML-MARKER</p>").where(
            TemplateVersion.template == template.id).execute()
    page = as_user(world.clin_a1).get(f"/library/{template.id}").get_data(as_text=True)
    assert "STORED-HTML-MARKER" in page and "<em>this</em>" not in page
    for text in ("Versions", "Version 1", "Forks", "Export .md", "Fork", "Edit", "Save sharing",
                 "anxiety", "CBT"):
        assert text in page, text


def test_rendered_html_is_sanitized_when_saved(world, as_user):
    c = as_user(world.clin_a1)
    hostile = make_source(title="Hostile", extra="\n\n<script>alert(1)</script>"
                          "<img src=x onerror=alert(2)> [x](javascript:alert(3))"
                          "\n\n<div hx-get=\"/admin\">x</div>")
    response = c.submit("/library/new", {"source": hostile, "visibility": "private"})
    assert response.status_code == 303
    tid = int(response.headers["Location"].rsplit("/", 1)[1])
    page = c.get(f"/library/{tid}").get_data(as_text=True)
    body = page[page.index('class="panel rendered template-body"'):]
    for bad in ("<script>alert", "onerror", "javascript:", 'hx-get="/admin"'):
        assert bad not in body, bad


def test_template_page_query_count_is_fixed(world, as_user):
    template = add_template(world.clin_a1, "public", title="Popular")
    c = as_user(world.clin_a1)
    c.get(f"/library/{template.id}")
    with count_queries() as before:
        c.get(f"/library/{template.id}")
    for who in (world.clin_a2, world.clin_b, world.admin_a):
        fork = add_fork(who, template)
        with in_db():
            library.save_version(who, Template.get_by_id(fork.id),
                                 make_source(title="Popular", goal=f"Goal {who.id}"), 1)
            library.set_visibility(who, Template.get_by_id(fork.id), "public")
    with count_queries() as after:
        page = c.get(f"/library/{template.id}").get_data(as_text=True)
    assert after.count == before.count
    assert page.count("from version 1") == 3 and "Version 1" in page


def add_fork(user, template, version=None):
    with in_db():
        return library.fork_template(user, Template.get_by_id(template.id), version)


# --- the editor -------------------------------------------------------------------------------

def test_new_template_editor_previews_and_creates(world, as_user):
    c = as_user(world.clin_a1)
    editor = c.get("/library/new").get_data(as_text=True)
    assert 'hx-post="/library/preview"' in editor and "delay:400ms" in editor
    preview = c.send("/library/preview", {"source": make_source(title="Previewed")}, htmx=True)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Previewed" in body and "Name three worry triggers" in body
    assert "<html" not in body
    with in_db():
        assert not Template.select().where(Template.title == "Previewed").exists()
    response = c.submit("/library/new", {"source": make_source(title="Created"),
                                         "visibility": "practice"})
    assert response.status_code == 303
    with in_db():
        t = Template.get(Template.title == "Created")
        assert (t.owner_id, t.practice_id, t.visibility, t.current_version) == (
            world.clin_a1.id, world.practice_a, "practice", 1)
        assert {r.tag for r in t.tag_rows} == {"CBT", "worry"}
        assert AuditEvent.get(AuditEvent.action == "template.create").target_id == t.id


def test_preview_shows_errors_with_their_lines(world, as_user):
    c = as_user(world.clin_a1)
    bad = "---\ntitle: x\n---\n\n### Objectives\n\n- too early\n"
    body = c.send("/library/preview", {"source": bad}, htmx=True).get_data(as_text=True)
    assert "Line 5" in body and "before any" in body


def test_save_makes_a_new_immutable_version_and_updates_search(world, as_user):
    template = add_template(world.clin_a1, "private", title="Versioned")
    c = as_user(world.clin_a1)
    editor = c.get(f"/library/{template.id}/edit").get_data(as_text=True)
    assert 'name="based_on" value="1"' in editor and "Versioned" in editor
    with in_db():
        v1 = TemplateVersion.get(TemplateVersion.template == template.id)
    new_source = make_source(title="Renamed", tags=("ACT",), homework="Walk with a zebrafinch")
    response = c.submit(f"/library/{template.id}/edit", {"source": new_source})
    assert response.status_code == 303
    with in_db():
        t = Template.get_by_id(template.id)
        assert (t.title, t.current_version) == ("Renamed", 2)
        assert [r.tag for r in TemplateTag.select().where(TemplateTag.template == t.id)] == ["ACT"]
        versions = list(TemplateVersion.select().where(TemplateVersion.template == t.id)
                        .order_by(TemplateVersion.number))
        assert [v.number for v in versions] == [1, 2]
        assert (versions[0].source, versions[0].html) == (v1.source, v1.html)
        assert "zebrafinch" in versions[1].html
        assert [p.id for p in browse(world.clin_a1, Filters(q="zebrafinch")).templates] == [t.id]
        assert browse(world.clin_a1, Filters(q="versioned")).templates == []
    page = c.get(f"/library/{template.id}?version=1").get_data(as_text=True)
    assert "You are looking at version 1 of 2" in page and "zebrafinch" not in page
    assert c.get(f"/library/{template.id}?version=3").status_code == 404
    # Saving the same text again makes no version.
    again = c.submit(f"/library/{template.id}/edit", {"source": new_source})
    assert again.status_code == 303 and row(template.id).current_version == 2


def test_save_with_errors_stores_nothing_and_keeps_the_text(world, as_user):
    template = add_template(world.clin_a1, "private", title="Careful")
    before = snapshot(template.id)
    c = as_user(world.clin_a1)
    bad = make_source(title="Careful") + "\n### Objectives\n\n- stray\n"
    bad = bad.replace("title: Careful", "title:")
    response = c.submit(f"/library/{template.id}/edit", {"source": bad})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 2" in body and "nothing was saved" in body
    assert "- stray" in body  # the text is kept in the editor
    assert snapshot(template.id) == before
    new = c.submit("/library/new", {"source": "no front matter", "visibility": "private"})
    assert new.status_code == 422 and "no front matter" in new.get_data(as_text=True)


def test_saving_over_a_newer_version_is_refused_with_both_shown(world, as_user):
    template = add_template(world.clin_a1, "practice", title="Contested")
    owner, admin = as_user(world.clin_a1), as_user(world.admin_a)
    editor = f"/library/{template.id}/edit"
    owners_tab = owner.get(editor)  # opened at version 1, saved after the admin's save
    assert admin.submit(editor, {
        "source": make_source(title="Contested", goal="Admin goal")}).status_code == 303
    response = owner.submit(editor, {"source": make_source(title="Contested", goal="Owner goal")},
                            page=owners_tab)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "saved version 2" in body and "Admin goal" in body and "Owner goal" in body
    assert 'name="based_on" value="2"' in body
    t = row(template.id)
    assert t.current_version == 2
    with in_db():
        assert "Admin goal" in library.get_version(t).source
    # Saving again, deliberately, on top of version 2 works.
    again = owner.submit(editor, {"source": make_source(title="Contested", goal="Owner goal")},
                         page=response)
    assert again.status_code == 303 and row(template.id).current_version == 3


# --- fork, lineage and diff -------------------------------------------------------------------

def test_fork_copies_privately_with_lineage_and_counts(world, lib, as_user):
    upstream = lib["public"]
    c = as_user(world.clin_b)
    response = c.submit(f"/library/{upstream.id}", action=f"/library/{upstream.id}/fork")
    assert response.status_code == 303
    fork_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with in_db():
        fork = Template.get_by_id(fork_id)
        assert (fork.owner_id, fork.practice_id, fork.visibility) == (
            world.clin_b.id, world.practice_b, "private")
        assert (fork.forked_from_id, fork.forked_from_version) == (upstream.id, 1)
        assert library.get_version(fork).source == library.get_version(
            Template.get_by_id(upstream.id)).source
        assert Template.get_by_id(upstream.id).fork_count == 1
        assert AuditEvent.get(AuditEvent.action == "template.fork").target_id == fork_id
    page = c.get(f"/library/{fork_id}").get_data(as_text=True)
    assert "Forked from" in page and "Public plan" in page and "version 1" in page
    assert "Upstream has a newer version" not in page
    # The fork is private: the upstream's owner does not see it listed.
    upstream_page = as_user(world.clin_a1).get(f"/library/{upstream.id}").get_data(as_text=True)
    assert "No forks you can see yet" in upstream_page
    assert c.get(f"/library/{upstream.id}").get_data(as_text=True).count("from version 1") == 1


def test_upstream_newer_notice_and_diff_against_upstream(world, lib, as_user):
    upstream = lib["public"]
    fork = add_fork(world.clin_b, upstream)
    owner = as_user(world.clin_a1)
    for n in (2, 3):
        owner.submit(f"/library/{upstream.id}/edit", {
            "source": make_source(title="Public plan", goal=f"Upstream goal {n}")})
    c = as_user(world.clin_b)
    c.submit(f"/library/{fork.id}/edit", {
        "source": make_source(title="Public plan", homework="Call an old friend")})
    page = c.get(f"/library/{fork.id}").get_data(as_text=True)
    assert "Upstream has a newer version (3)" in page
    assert f"/library/{fork.id}/diff/upstream" in page
    assert f"/library/{upstream.id}/diff?a=1&amp;b=3" in page
    diff = c.get(f"/library/{fork.id}/diff/upstream").get_data(as_text=True)
    assert '<span class="del">-## Goal: Upstream goal 3</span>' in diff
    assert '<span class="add">+## Goal: Reduce worry</span>' in diff
    assert '<span class="add">+- Call an old friend</span>' in diff
    changes = c.get(f"/library/{upstream.id}/diff?a=1&b=3").get_data(as_text=True)
    assert '<span class="add">+## Goal: Upstream goal 3</span>' in changes
    # Once the upstream is no longer shared, the fork keeps its lineage without a link.
    owner.submit(f"/library/{upstream.id}", {"visibility": "private"},
                 action=f"/library/{upstream.id}/visibility")
    page = c.get(f"/library/{fork.id}").get_data(as_text=True)
    assert "no longer shared with you" in page and f'href="/library/{upstream.id}' not in page
    assert c.get(f"/library/{fork.id}/diff/upstream").status_code == 404


def test_diff_of_two_versions_escapes_and_marks_lines(world, as_user):
    template = add_template(world.clin_a1, "private", title="Diffed")
    c = as_user(world.clin_a1)
    c.submit(f"/library/{template.id}/edit", {
        "source": make_source(title="Diffed", homework="Read <b>this</b> & <script>x</script>")})
    body = c.get(f"/library/{template.id}/diff?a=1&b=2").get_data(as_text=True)
    assert '<span class="del">-- Keep a daily worry log</span>' in body
    assert ('<span class="add">+- Read &lt;b&gt;this&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;'
            '</span>') in body
    assert "<script>x" not in body
    assert "1</span> line added" in body or "+1" in body
    same = c.get(f"/library/{template.id}/diff?a=2&b=2").get_data(as_text=True)
    assert "No differences" in same
    assert c.get(f"/library/{template.id}/diff?a=1&b=9").status_code == 404
    assert c.get(f"/library/{template.id}/diff/upstream").status_code == 404  # not a fork


def test_fork_of_an_older_version_records_it(world, as_user):
    template = add_template(world.clin_a1, "practice", title="Old and new")
    c = as_user(world.clin_a1)
    c.submit(f"/library/{template.id}/edit", {"source": make_source(title="Old and new", goal="New")})
    colleague = as_user(world.clin_a2)
    response = colleague.submit(f"/library/{template.id}?version=1",
                                action=f"/library/{template.id}/fork")
    fork_id = int(response.headers["Location"].rsplit("/", 1)[1])
    fork = row(fork_id)
    assert fork.forked_from_version == 1
    page = colleague.get(f"/library/{fork_id}").get_data(as_text=True)
    assert "Upstream has a newer version (2)" in page
