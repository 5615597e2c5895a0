"""CLI for the office IT person: backup and restore."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from ..backup import BackupError, make_backup, restore_backup
from ..extensions import db
from . import bp


@bp.cli.command("backup")
@click.option("--to", "target", default=None, help="Folder for the archive (default: backups/ beside instance/).")
def backup(target: str | None) -> None:
    """Back up the database, photos, card keys and app secret into one archive (safe while serving)."""
    target = target or str(Path(current_app.instance_path).parent / "backups")
    try:
        archive = make_backup(current_app.instance_path, current_app.config["SQLALCHEMY_DATABASE_URI"], target)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(str(archive))


@bp.cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(archive: str, yes: bool) -> None:
    """Put a backup archive back (replaces the database and instance files; stop the server first)."""
    if not yes:
        click.confirm("This replaces the current database, photos and keys. Continue?", abort=True)
    db.session.remove()
    db.engine.dispose()
    try:
        manifest = restore_backup(archive, current_app.instance_path, current_app.config["SQLALCHEMY_DATABASE_URI"])
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {manifest['engine']} backup made at {manifest['made_at']}")
