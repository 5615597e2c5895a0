"""CLI: staff accounts and the first-run setup code."""

from __future__ import annotations

import sys

import click
from flask import current_app

from .. import staff as accounts
from ..models import ROLES
from . import bp, setup


@bp.cli.command("create-staff")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="petugas", show_default=True)
@click.option("--name", "full_name", default="", help="Full name shown in reports.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_staff(username: str, role: str, full_name: str, password_stdin: bool) -> None:
    """Create a staff account (asks for its password)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
    try:
        staff = accounts.create(username, full_name, role, password, by=None)
    except accounts.StaffError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created {role} {staff.username}")


@bp.cli.command("setup-code")
def setup_code() -> None:
    """Print the one-time code for creating the first admin (only while there is none)."""
    if setup.admin_exists():
        click.echo("An admin account exists: sign in at /masuk.")
        return
    code = setup.setup_code(current_app.instance_path)
    click.echo("")
    click.echo("  First run: open /setup in a browser and enter this setup code:")
    click.echo(f"      {code}")
    click.echo("")
