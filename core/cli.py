"""Command-line tools: `flask --app app db upgrade`, `users create`, `library load|import|export`."""
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core import accounts, backups, migrations
from core.db import db
from core.models import Practice

db_cli = AppGroup("db", help="Database schema.")
users_cli = AppGroup("users", help="Practice members.")
library_cli = AppGroup("library", help="The template library.")


@db_cli.command("upgrade")
def db_upgrade():
    """Create or upgrade the schema in place."""
    with db.connection_context():
        before = migrations.current_version()
        applied = migrations.upgrade()
    click.echo(f"Schema version {before} -> {migrations.LATEST}"
               + (f" (applied {', '.join(map(str, applied))})" if applied else " (up to date)"))


@db_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def db_backup(path):
    """Write a consistent copy of the whole database to PATH (safe while the app runs)."""
    backups.backup(current_app.config["DATABASE_URL"], path)
    click.echo(f"Backed up to {path}")


@db_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_restore(path, yes):
    """Replace the database with the backup at PATH. Stop the app first."""
    if not yes:
        click.confirm("This replaces every record in the database with the backup. Continue?",
                      abort=True)
    try:
        backups.restore(current_app.config["DATABASE_URL"], path)
    except backups.BackupError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Restored from {path}")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--practice", "practice_name", required=True, help="Practice name (created if new).")
@click.option("--name", default="")
@click.option("--admin", is_flag=True, help="Make the member an admin of the practice.")
def users_create(email, practice_name, name, admin):
    """Create a member. The password comes from STEPWISE_PASSWORD or a prompt, never an argument."""
    password = os.environ.get("STEPWISE_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    with db.connection_context(), db.atomic():
        practice = Practice.get_or_none(Practice.name == practice_name) or Practice.create(
            name=practice_name)
        try:
            user = accounts.create_user(practice, email, name, password,
                                        role="admin" if admin else "clinician")
        except accounts.AccountError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
    click.echo(f"Created {user.role} {user.email} in practice '{practice.name}'.")


def init_app(app):
    for group in (db_cli, users_cli, library_cli):
        app.cli.add_command(group)
