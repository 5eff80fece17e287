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
    """Create or upgrade the schema in place (safe while other processes start or run)."""
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


# --- the template library ---------------------------------------------------------------------

def _fail_with(errors):
    from core.library_io import describe
    for error in errors:
        click.echo(f"Error: {describe(error)}", err=True)
    sys.exit(1)


@library_cli.command("load")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
def library_load(folder):
    """Load the starter library (template_library/ or FOLDER); loaded ones are left as they are."""
    from core.library import STARTER_FOLDER, load_starter_library
    from core.template_format import TemplateFormatError
    with db.connection_context():
        try:
            created, skipped = load_starter_library(folder or STARTER_FOLDER)
        except TemplateFormatError as exc:
            _fail_with(exc.errors)
    click.echo(f"Starter library: {created} loaded, {skipped} already there.")


def _practice_named(name):
    practice = Practice.get_or_none(Practice.name == name)
    if practice is None:
        click.echo(f"Error: no practice named {name!r}.", err=True)
        sys.exit(1)
    return practice


@library_cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--owner", "owner_email", help="Email of the member who will own the templates.")
@click.option("--practice", "practice_name", help="Share them with this practice (no owner).")
@click.option("--visibility", type=click.Choice(["private", "practice", "public"]),
              help="Default: private with --owner, practice with --practice, else public.")
def library_import(paths, owner_email, practice_name, visibility):
    """Import .md files, folders of them and .zip archives: all, or nothing if any is bad."""
    from core.library_io import check_uploads, read_paths, store_checked
    from core.models import User
    with db.connection_context():
        user = practice = None
        if owner_email:
            user = User.get_or_none(User.email == accounts.normalize_email(owner_email))
            if user is None:
                click.echo(f"Error: no member with the email {owner_email!r}.", err=True)
                sys.exit(1)
        elif practice_name:
            practice = _practice_named(practice_name)
        visibility = visibility or ("private" if user else "practice" if practice else "public")
        if visibility == "private" and user is None:
            click.echo("Error: a private template needs an owner (--owner EMAIL).", err=True)
            sys.exit(1)
        report = check_uploads(read_paths(paths), max_files=None,
                               processes=min(os.cpu_count() or 1, 4))
        if report.errors:
            _fail_with(report.errors)
        if not report.items:
            click.echo("Error: no template file (.md) found; nothing was imported.", err=True)
            sys.exit(1)
        created = store_checked(user, report, visibility, practice)
    for name in report.skipped:
        click.echo(f"Skipped {name}")
    plural = "s" if len(created) != 1 else ""
    click.echo(f"Imported {len(created)} template{plural} ({visibility}).")


@library_cli.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--practice", "practice_name", help="Only the templates of this practice.")
def library_export(directory, practice_name):
    """Write every template (not deleted) as DIRECTORY/<title>.md, its current version."""
    from core.library_io import current_versions, export_folder, record_export
    from core.models import Template
    with db.connection_context():
        query = Template.select().where(Template.deleted_at.is_null())
        practice = None
        if practice_name:
            practice = _practice_named(practice_name)
            query = query.where(Template.practice == practice.id)
        count = export_folder(current_versions(query), directory)
        record_export(None, f"{count} templates to a folder (command line)",
                      practice=practice.id if practice else None)
    click.echo(f"Exported {count} template{'s' if count != 1 else ''} to {directory}.")
