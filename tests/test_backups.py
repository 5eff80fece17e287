from core.models import Client
from tests.conftest import in_db


def test_backup_and_restore_round_trip(app, world, runner, tmp_path):
    target = tmp_path / "stepwise.backup"
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0
    with in_db():
        Client.update(first_name="Changed").execute()
        Client.create(practice=world.practice_a, first_name="After", last_name="Backup",
                      primary_clinician=world.clin_a1.id)
    result = runner.invoke(args=["db", "restore", "--yes", str(target)])
    assert result.exit_code == 0, result.output
    with in_db():
        assert sorted(c.first_name for c in Client.select()) == ["Ada", "Alan", "Grace"]


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        bogus = tmp_path / "bogus"
        bogus.write_text("not a dump")
        result = runner.invoke(args=["db", "restore", "--yes", str(bogus)])
        assert result.exit_code == 1 and "Error" in result.output
        return
    bogus = tmp_path / "bogus.db"
    bogus.write_text("this is not a database")
    result = runner.invoke(args=["db", "restore", "--yes", str(bogus)])
    assert result.exit_code == 1 and "not a Stepwise SQLite backup" in result.output
