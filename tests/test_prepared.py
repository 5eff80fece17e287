import pytest

from core.access import get_client
from core.models import Client, User
from core.prepared import Prepared
from tests.conftest import in_db


def test_compiled_once_and_run_with_each_calls_values(world):
    built = []

    def build(client_id):
        built.append(client_id)
        return Client.select().where(Client.id == client_id).limit(1)
    lookup = Prepared(build)
    with in_db():
        assert lookup.first("by-id", world.client_a1.id).last_name == "Lovelace"
        assert lookup.first("by-id", world.client_b.id).last_name == "Turing"
        assert lookup.first("by-id", 987654) is None
    assert len(built) == 1  # the SQL was built once, with a stand-in


def test_an_argument_that_does_not_reach_the_sql_unchanged_is_refused(world):
    lookup = Prepared(lambda name: Client.select().where(Client.last_name == name.upper()).limit(1))
    with in_db(), pytest.raises(ValueError):
        lookup.first("uppered", "Lovelace")
    with in_db(), pytest.raises(TypeError):
        Prepared(lambda flag: Client.select().limit(1)).first("bool", True)


def test_prepared_scope_differs_by_role_and_user(world):
    with in_db():
        admin, clinician = User.get_by_id(world.admin_a.id), User.get_by_id(world.clin_a2.id)
        assert get_client(admin, world.client_a1.id).id == world.client_a1.id
        assert get_client(clinician, world.client_a2.id).id == world.client_a2.id
        with pytest.raises(LookupError):
            get_client(clinician, world.client_a1.id)  # same compiled query, other user's row
        with pytest.raises(LookupError):
            get_client(User.get_by_id(world.admin_b.id), world.client_a1.id)


def test_lookups_reuse_one_server_side_plan_on_postgresql(world):
    """PostgreSQL: the first lookup on a connection PREPAREs, later ones only EXECUTE, with the
    same rows as a plain query. SQLite: plain statements (sqlite3 caches them itself)."""
    from core.db import db, is_sqlite
    from tests.conftest import count_queries
    lookup = Prepared(lambda client_id: Client.select().where(Client.id == client_id).limit(1))
    with in_db():
        lookup.first("by-id", world.client_a1.id)
        with count_queries() as counter:
            names = [lookup.first("by-id", c.id).last_name
                     for c in (world.client_a1, world.client_b, world.client_a2)]
            missing = lookup.first("by-id", 987654)
        assert names == ["Lovelace", "Turing", "Hopper"] and missing is None
        executed = [s.split()[0] for s in counter.statements]
        assert executed == (["SELECT"] * 4 if is_sqlite() else ["EXECUTE"] * 4)
        if not is_sqlite():
            prepared = db.execute_sql("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
            assert prepared >= 1
