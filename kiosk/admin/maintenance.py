"""Backups: the admin page *Cadangan* (back up now, download, the recent backups, the schedule)
and the CLI for the office IT person (backup, restore)."""

from __future__ import annotations

import click
from flask import abort, current_app, flash, redirect, send_file, url_for
from flask_wtf import FlaskForm

from .. import backup as backups
from ..auth import admin_required
from ..downloads import FULL, personal_data
from ..backup import BackupError, restore_backup
from ..extensions import db
from ..i18n import _l
from ..private_files import private_dir, private_file
from ..web import fragment_or_page
from . import bp

PANEL = "backups"


class BackupForm(FlaskForm):
    """The *Cadangkan sekarang* button (its CSRF token only)."""


def _panel_context() -> dict:
    return {"archives": backups.archives(backups.backup_folder()), "state": backups.status(),
            "disks": backups.disk_space(), "keep": current_app.config["BACKUP_KEEP"],
            "folder": backups.backup_folder(), "form": BackupForm(formdata=None), "panel_id": PANEL}


@bp.get("/cadangan")
@admin_required
def backups_page():
    """Backups: make one now, download one, the recent backups with size and time, the schedule
    and the free disk space. While a backup is being made the panel refreshes itself."""
    return fragment_or_page("admin/backups.html", {PANEL: "admin/_backups.html"}, _panel_context())


@bp.post("/cadangan")
@admin_required
def backup_now():
    """Start a backup now (made in the background; the page shows when it is done)."""
    if not BackupForm().validate_on_submit():
        flash(_l("Permintaan tidak sah. Muat ulang halaman lalu coba lagi."), "error")
    elif backups.start(current_app._get_current_object(), "manual"):
        flash(_l("Cadangan sedang dibuat. Halaman ini menampilkannya begitu selesai."), "success")
    else:
        flash(_l("Cadangan lain sedang dibuat. Tunggu sampai selesai."), "warning")
    return redirect(url_for("admin.backups_page"))


@bp.get("/cadangan/<name>")
@admin_required
@personal_data("backup", nik=FULL)
def backup_download(name: str):
    """Download one backup archive (it holds every worker's data and the card keys)."""
    folder = backups.backup_folder()
    archive = backups.archive_info(folder / name) if backups.ARCHIVE_NAME.match(name) else None
    if archive is None:
        abort(404)
    current_app.logger.info("backup downloaded: %s", archive.name)
    return send_file(archive.path, mimetype="application/gzip", as_attachment=True, download_name=archive.name)


@bp.cli.command("backup")
@click.option("--to", "target", default=None, help="Folder for the archive (default: the backup folder, backups/ beside instance/).")
def backup(target: str | None) -> None:
    """Back up the database (photos included) and the secrets (card keys, LAN certificate, app
    secret) into one archive (safe while serving)."""
    try:
        archive = backups.run("manual", target=target, lease=False)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(str(archive.path))


@bp.cli.command("service-unit")
@click.option("--user", required=True, help="The unprivileged user who owns instance/ and runs the server.")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--https", is_flag=True, help="Serve the LAN certificate of instance/tls/ (as make run HTTPS=1).")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write the unit here (default: print it).")
def service_unit(user: str, host: str, port: int, workers: int, https: bool, output: str | None) -> None:
    """The systemd unit that runs the server as `make run` does (make install-service installs it)."""
    from ..service import ServiceError, render_unit

    folder = backups.backup_folder()
    try:
        unit = render_unit(user=user, host=host, port=port, workers=workers, https=https,
                           instance=current_app.instance_path, backups=folder)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    private_dir(folder)  # the service may write only there and in instance/
    if output is None:
        click.echo(unit, nl=False)
        return
    with open(private_file(output), "w") as fh:
        fh.write(unit)
    click.echo(f"Made {output}")


@bp.cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(archive: str, yes: bool) -> None:
    """Put a backup archive back (replaces the database and the secrets; stop the server first,
    every server when several share the database)."""
    if not yes:
        click.confirm("This replaces the current database (photos included) and keys. Continue?", abort=True)
    db.session.remove()
    db.engine.dispose()
    try:
        manifest = restore_backup(archive, current_app.instance_path, current_app.config["SQLALCHEMY_DATABASE_URI"],
                                  current_app.config["SECRETS_DIR"])
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {manifest['engine']} backup made at {manifest['made_at']}")
