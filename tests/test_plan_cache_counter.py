"""The plan page cache's key, the per-plan counter of core/triggers.py, cannot miss a committed
change: not when two writers commit out of order (PostgreSQL), not when a row moves between
plans, not across the upgrade from the old change log. And the cache's cap counts bytes."""
import threading

import pytest

from app import create_app
from blueprints.plans.page_cache import RenderedCache
from core import migrations
from core.db import db, is_sqlite
from core.models import Client, Goal, Plan, PlanCounter, Practice, User
from tests.conftest import TEST_CONFIG, count_queries, in_db, make_user
from tests.test_plan_cache import uncached, view, without_tokens
from tests.test_plans import depression, first_goal, plan_id  # noqa: F401  (fixtures)


def counter(plan):
    row = PlanCounter.get_or_none(PlanCounter.plan_id == plan)
    return row.n if row else 0


def _raw_connection(database_url):
    import psycopg2
    try:
        return psycopg2.connect(database_url)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {exc}")


@pytest.mark.postgresql_only  # SQLite lets one writer in at a time: nothing to interleave
def test_two_writers_committing_out_of_order_both_reach_the_page(
        app, database_url, world, as_user, plan_id):
    """The issue's reproduction: writer 1 writes first, writer 2 commits first, a view caches
    the page, then writer 1 commits. With the old key (the newest change-log id) the page kept
    showing writer 2's change only."""
    c = as_user(world.clin_a1)
    with in_db():
        goal_a, goal_b = [g.id for g in Goal.select().where(Goal.plan == plan_id)
                          .order_by(Goal.position).limit(2)]
    view(c, plan_id)  # the page is cached before either change
    first, second = _raw_connection(database_url), _raw_connection(database_url)
    try:
        with first.cursor() as cur:  # BEGIN (psycopg2 opens a transaction) and write goal A
            cur.execute("UPDATE goal SET title = 'Alpha marker' WHERE id = %s", (goal_a,))

        def write_b_and_commit():  # BEGIN, write goal B, COMMIT: it must not wait for writer 1
            with second.cursor() as cur:
                cur.execute("UPDATE goal SET title = 'Beta marker' WHERE id = %s", (goal_b,))
            second.commit()
        writer_2 = threading.Thread(target=write_b_and_commit)
        writer_2.start()
        writer_2.join(timeout=10)
        assert not writer_2.is_alive(), "writer 2 waited for writer 1's open transaction"

        between = view(c, plan_id)  # cached now, under the key writer 2's commit made
        assert "Beta marker" in between and "Alpha marker" not in between
        first.commit()
    finally:
        first.close()
        second.close()
    after = view(c, plan_id)
    assert "Alpha marker" in after and "Beta marker" in after
    assert without_tokens(after) == without_tokens(uncached(app, c, plan_id))


def test_each_committed_change_raises_the_counter_and_a_rolled_back_one_does_not(
        app, world, plan_id):
    goal = first_goal(plan_id)
    with in_db():
        before = counter(plan_id)
        Goal.update(title="Once").where(Goal.id == goal.id).execute()
        assert counter(plan_id) == before + 1
        with db.atomic() as transaction:
            Goal.update(title="Never").where(Goal.id == goal.id).execute()
            transaction.rollback()
        assert counter(plan_id) == before + 1
        assert Goal.get_by_id(goal.id).title == "Once"


def test_a_goal_moved_to_another_plan_changes_both_pages(app, world, as_user, plan_id):
    c = as_user(world.clin_a1)
    goal = first_goal(plan_id)
    with in_db():
        other = Plan.create(client=world.client_a1.id, title="Second plan", status="active")
    old_page, new_page = view(c, plan_id), view(c, other.id)
    assert goal.title in old_page and goal.title not in new_page
    with in_db():
        Goal.update(plan=other.id).where(Goal.id == goal.id).execute()
    assert goal.title not in view(c, plan_id)
    assert goal.title in view(c, other.id)


def test_the_page_reads_its_counter_before_its_content(app, world, as_user, plan_id,
                                                       monkeypatch):
    """The order the guarantee rests on (see page_cache's docstring): content read after the
    key can only be newer than the key. The content is loaded for a plan whose counter has
    already been read (on SQLite, also seen in the order of the statements)."""
    from core import plans
    seen, load = [], plans.load_plan_page

    def loading(plan):
        seen.append(plan.change_id)  # AttributeError if the key was not read yet
        return load(plan)
    monkeypatch.setattr(plans, "load_plan_page", loading)
    c = as_user(world.clin_a1)
    app.extensions["plan_page_cache"] = RenderedCache()
    with count_queries() as miss:
        assert c.get(f"/plans/{plan_id}").status_code == 200
    with in_db():
        assert seen == [counter(plan_id)] and seen[0] > 0
    if is_sqlite():  # (PostgreSQL runs the lookup as a server-side prepared statement)
        statements = [s.lower() for s in miss.statements]
        key = next(i for i, s in enumerate(statements) if "plan_counter" in s)
        content = next(i for i, s in enumerate(statements) if 'from "goal"' in s)
        assert key < content and '"client"' in statements[key], statements


def _old_change_log():
    """What migration 5 used to create: the log, and (for goals) its trigger."""
    if is_sqlite():
        return ["CREATE TABLE plan_change (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "plan_id INTEGER NOT NULL)",
                "CREATE TRIGGER plan_change_goal_insert AFTER INSERT ON goal BEGIN "
                "INSERT INTO plan_change (plan_id) SELECT NEW.plan_id; END"]
    return ["CREATE TABLE plan_change (id SERIAL PRIMARY KEY, plan_id INTEGER NOT NULL)",
            "CREATE FUNCTION plan_change_goal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO plan_change (plan_id) SELECT NEW.plan_id; RETURN NULL; END $$",
            "CREATE TRIGGER plan_change_goal AFTER INSERT OR UPDATE OR DELETE ON goal "
            "FOR EACH ROW EXECUTE FUNCTION plan_change_goal()"]


def test_upgrade_from_the_change_log_starts_each_counter_above_its_old_key(database_url):
    create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "AUTO_UPGRADE": False})
    with in_db():
        migrations.upgrade(target=6)
        for statement in _old_change_log():
            db.execute_sql(statement)
        practice = Practice.create(name="Old practice")
        user = make_user(practice, "old@example.org")
        client = Client.create(practice=practice, first_name="A", last_name="B",
                               primary_clinician=user)
        plans = [Plan.create(client=client, title=f"Plan {i}") for i in range(2)]
        for plan in (plans[0], plans[1], plans[0]):
            Goal.create(plan=plan, title="Old goal")
        assert 8 in migrations.upgrade()  # (with the steps after 6 merged beside it)
        assert "plan_change" not in db.get_tables()
        assert {p.id: counter(p.id) for p in plans} == {plans[0].id: 3, plans[1].id: 2}
        Goal.create(plan=plans[1], title="New goal")  # the old trigger is gone with its table
        assert counter(plans[1].id) == 3
        assert User.select().count() == 1


def test_the_cache_cap_counts_bytes_not_characters():
    cache = RenderedCache(max_bytes=100)
    cache.put("a", "é" * 40)                  # 40 characters, 80 bytes in UTF-8
    assert cache.size == 80 and cache.get("a") == "é" * 40
    cache.put("b", "€" * 10)                  # 30 bytes: 110 in all, so "a" goes
    assert cache.get("a") is None and cache.get("b") == "€" * 10 and cache.size == 30
    cache.put("c", "€" * 34)                  # 34 characters, but 102 bytes: never kept
    assert cache.get("c") is None and cache.size == 30
