"""Full-text search of the library: words anywhere in a template, prefixes as the clinician types,
filters, sorting, and the query plan at library scale (the index is used, not a scan)."""
import datetime as dt

from peewee import chunked

from core.access import template_scope
from core.db import db, is_sqlite
from core.library_browse import PER_PAGE, Filters, _ORDER, browse, visible
from core.models import Template, TemplateTag, TemplateVersion
from core.search import index_template, matching_ids_sql, search_terms
from tests.conftest import in_db
from tests.test_library import add_template


def titles(user, **filters):
    with in_db():
        return [t.title for t in browse(user, Filters(**filters)).templates]


def test_search_finds_words_in_title_tags_and_body(world):
    add_template(world.clin_a1, "public", title="Sleep plan", tags=("CBT-I",),
                 homework="Get up at the same time every morning")
    add_template(world.clin_a1, "public", title="Drinking plan", tags=("alcohol",),
                 homework="Call an old friend from the sober network")
    user = world.clin_b
    assert titles(user, q="sleep") == ["Sleep plan"]          # title
    assert titles(user, q="alcohol") == ["Drinking plan"]     # tag
    assert titles(user, q="sober network") == ["Drinking plan"]  # body, every word must match
    assert titles(user, q="morning sober") == []
    assert titles(user, q="MORNING") == ["Sleep plan"]        # case-insensitive


def test_search_matches_prefixes_as_you_type(world):
    add_template(world.clin_a1, "public", title="Generalized anxiety", tags=("worry",))
    add_template(world.clin_a1, "public", title="Grief and loss", tags=("bereavement",),
                 problem="grief")
    user = world.clin_a2
    assert titles(user, q="anx") == ["Generalized anxiety"]
    assert titles(user, q="a") != []
    assert titles(user, q="ber") == ["Grief and loss"]
    assert titles(user, q="gri lo") == ["Grief and loss"]


def test_search_ignores_operators_and_punctuation(world):
    add_template(world.clin_a1, "public", title="Panic plan", tags=("panic",))
    user = world.clin_a2
    for q in ('panic"', "panic*", "panic OR", "(panic", "panic -x:", "pan'ic", "panic\\", "NEAR(panic"):
        with in_db():
            browse(user, Filters(q=q))  # never a syntax error from the search engine
    assert titles(user, q='"panic"') == ["Panic plan"]
    assert search_terms("a-b c_d 'e'") == ["a", "b", "c", "d", "e"]
    assert matching_ids_sql("  ...  ") is None


def test_search_respects_visibility(world):
    add_template(world.clin_a1, "private", title="Secret zebra plan")
    add_template(world.clin_a1, "practice", title="Practice zebra plan")
    assert set(titles(world.clin_a1, q="zebra")) == {"Secret zebra plan", "Practice zebra plan"}
    assert titles(world.clin_a2, q="zebra") == ["Practice zebra plan"]
    assert titles(world.clin_b, q="zebra") == []


def test_every_filter_shape_keeps_each_user_in_scope(world):
    """The page query is compiled once per shape of filters and reused for every user: each
    user's own ids must reach it, for every scope, sort and filter combination."""
    add_template(world.clin_a1, "private", title="Secret zebra plan", problem="grief")
    add_template(world.clin_a1, "practice", title="Practice zebra plan", problem="grief")
    add_template(world.clin_b, "practice", title="Other zebra plan", problem="grief")
    add_template(world.clin_b, "public", title="Public zebra plan", problem="grief")
    expected = {
        "clin_a1": {"all": {"Secret", "Practice", "Public"}, "mine": {"Secret", "Practice"},
                    "practice": {"Practice"}, "public": {"Public"}},
        "clin_a2": {"all": {"Practice", "Public"}, "mine": set(), "practice": {"Practice"},
                    "public": {"Public"}},
        "clin_b": {"all": {"Other", "Public"}, "mine": {"Other", "Public"},
                   "practice": {"Other", "Public"}, "public": {"Public"}},
        "admin_b": {"all": {"Other", "Public"}, "mine": set(), "practice": {"Other", "Public"},
                    "public": {"Public"}},
    }
    for filters in ({"q": "zebra"}, {"problem": "grief"}, {"q": "zeb", "tag": "CBT"},
                    {"q": "zebra plan", "problem": "grief", "tag": "worry", "sort": "newest"}):
        for scope in ("all", "mine", "practice", "public"):
            for name, scopes in expected.items():
                found = titles(getattr(world, name), scope=scope, **filters)
                assert {t.split()[0] for t in found} == scopes[scope], (filters, scope, name)


def test_search_combines_with_filters_and_sorts(world):
    first = add_template(world.clin_a1, "public", title="Worry A", problem="anxiety")
    second = add_template(world.clin_a1, "public", title="Worry B", problem="anxiety")
    add_template(world.clin_a1, "public", title="Worry C", problem="stress")
    with in_db():
        Template.update(uses=3, fork_count=0).where(Template.id == first.id).execute()
        Template.update(uses=1, fork_count=7).where(Template.id == second.id).execute()
    user = world.clin_b
    assert titles(user, q="worry", problem="anxiety") == ["Worry A", "Worry B"]
    assert titles(user, q="worry", problem="anxiety", sort="forked") == ["Worry B", "Worry A"]
    assert titles(user, q="worry", sort="newest") == ["Worry C", "Worry B", "Worry A"]
    assert titles(user, q="worry", tag="CBT", scope="public", problem="stress") == ["Worry C"]


def test_deleted_templates_are_not_found(world):
    template = add_template(world.clin_a1, "public", title="Gone plan")
    with in_db():
        Template.update(deleted_at=dt.datetime(2025, 1, 1)).where(Template.id == template.id).execute()
    assert titles(world.clin_a1, q="gone") == []


# --- scale --------------------------------------------------------------------------------------

WORDS = ("worry sleep panic grief alcohol trauma stress anger mood exposure relapse routine "
         "breathing journal walk friend").split()


def seed_templates(n: int, owner_id: int, practice_id: int):
    """n templates with tags, a version and the search index, in bulk (a few seconds)."""
    now = dt.datetime(2025, 1, 1)
    start = (Template.select(Template.id).order_by(Template.id.desc()).scalar() or 0) + 1
    rows, versions, tags, index = [], [], [], []
    for i in range(n):
        tid = start + i
        a, b = WORDS[i % len(WORDS)], WORDS[(i * 7) % len(WORDS)]
        title = f"Seeded plan {i} for {a}"
        rows.append({"id": tid, "owner": owner_id, "practice": practice_id,
                     "visibility": ("public", "practice", "private")[i % 3], "title": title,
                     "problem": a, "uses": i % 41, "fork_count": i % 5,
                     "created_at": now - dt.timedelta(minutes=i), "updated_at": now})
        source = f"---\ntitle: {title}\n---\n\n## Problem\n\n{a} and {b} token{i}\n"
        versions.append({"template": tid, "number": 1, "source": source, "html": "<p></p>"})
        tags += [{"template": tid, "tag": t} for t in sorted({a, b})]
        index.append((tid, title, f"{a} {b}", f"{a} and {b} token{i}"))
    with db.atomic():
        for model, data in ((Template, rows), (TemplateVersion, versions), (TemplateTag, tags)):
            for batch in chunked(data, 300):
                model.insert_many(batch).execute()
        for entry in index:
            index_template(*entry)
        if not is_sqlite():
            db.execute_sql("SELECT setval(pg_get_serial_sequence('template', 'id'), "
                           "(SELECT MAX(id) FROM template))")
    if not is_sqlite():
        db.execute_sql("ANALYZE template")


def _library_query_sql(user, q: str):
    query = (Template.select().where(visible(user)).where(matching_ids_sql(q, ordered_scan=True))
             .order_by(*_ORDER["used"]).limit(25))
    return query.sql()


def test_search_uses_the_full_text_index_at_scale(world):
    with in_db():
        seed_templates(2000, world.clin_a1.id, world.practice_a)
        found = browse(world.clin_a1, Filters(q="token1234"))
        assert [t.title for t in found.templates] == [f"Seeded plan 1234 for {WORDS[1234 % len(WORDS)]}"]
        broad = browse(world.clin_a2, Filters(q="wor"))
        assert len(broad.templates) == PER_PAGE and broad.has_next
        assert all(t.visibility != "private" for t in broad.templates)
        sql, params = _library_query_sql(world.clin_a1, "token1234")
        if is_sqlite():
            plan = " | ".join(r[3] for r in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
            assert "template_fts VIRTUAL TABLE INDEX" in plan, plan
            assert "MULTI-INDEX OR" not in plan, plan  # the scope never drives the query
            # The library's first page walks the sort index and stops, whatever the search.
            assert "USING INDEX template_uses" in plan, plan
        else:
            # The planner picks by statistics; what matters is that the match is answerable
            # from the GIN index, and that the library query gives the right rows.
            words_sql, words_params = (Template.select(Template.id)
                                       .where(matching_ids_sql("token1234")).sql())
            db.execute_sql("SET enable_seqscan = off")
            try:
                plan = " | ".join(r[0] for r in db.execute_sql("EXPLAIN " + words_sql,
                                                               words_params))
            finally:
                db.execute_sql("SET enable_seqscan = on")
            assert "Bitmap Index Scan on template_search_idx" in plan, plan
            assert len(db.execute_sql(sql, params).fetchall()) == 1


def test_plain_scope_query_still_works_for_other_callers(world):
    """matching_ids_sql without ordered_scan (used by plan suggestions) finds the same rows."""
    add_template(world.clin_a1, "public", title="Suggested plan", tags=("suggest",))
    with in_db():
        rows = list(Template.select().where(template_scope(world.clin_b)
                                            & matching_ids_sql("sugg")))
    assert [t.title for t in rows] == ["Suggested plan"]
