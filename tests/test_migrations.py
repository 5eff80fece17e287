from app import create_app
from core import accounts, migrations
from core.db import db
from core.models import Client, Plan, Practice, Template, User
from tests.conftest import PASSWORD, TEST_CONFIG, in_db


def test_upgrade_from_first_schema_keeps_data(database_url):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "AUTO_UPGRADE": False})
    with in_db():
        assert migrations.upgrade(target=1) == [1]
        assert migrations.current_version() == 1
        assert not Plan.table_exists() and not Template.table_exists()
        practice = Practice.create(name="Old practice")
        user = accounts.create_user(practice, "old@example.org", "Old", PASSWORD, "admin")
        Client.create(practice=practice, first_name="Kept", last_name="Client", primary_clinician=user)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"Schema version 1 -> {migrations.LATEST}" in result.output
    with in_db():
        assert migrations.current_version() == migrations.LATEST
        assert Plan.table_exists() and Template.table_exists()
        assert Client.get(Client.last_name == "Client").first_name == "Kept"
        assert migrations.upgrade() == []  # idempotent
    client = app.test_client()
    assert client.get("/healthz").status_code == 200


def test_app_upgrades_on_start(database_url):
    create_app({**TEST_CONFIG, "DATABASE_URL": database_url})
    with db.connection_context():
        assert migrations.current_version() == migrations.LATEST


def test_cli_users_create_reads_password_from_env_never_argument(app, runner, monkeypatch):
    monkeypatch.setenv("STEPWISE_PASSWORD", PASSWORD)
    result = runner.invoke(args=["users", "create", "--email", "Boss@Example.org",
                                 "--practice", "North", "--admin", "--name", "Boss"])
    assert result.exit_code == 0, result.output
    with in_db():
        user = User.get(User.email == "boss@example.org")
        assert user.role == "admin" and user.practice.name == "North"
    assert PASSWORD not in result.output
    monkeypatch.setenv("STEPWISE_PASSWORD", "short")
    bad = runner.invoke(args=["users", "create", "--email", "x@example.org", "--practice", "North"])
    assert bad.exit_code == 1 and "at least 12" in bad.output
    monkeypatch.delenv("STEPWISE_PASSWORD")
    prompted = runner.invoke(args=["users", "create", "--email", "c@example.org", "--practice", "North"],
                             input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    with in_db():
        assert User.get(User.email == "c@example.org").role == "clinician"
